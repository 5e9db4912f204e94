"""Intake: accepts admit/discharge events from facility systems, archives the raw input, publishes discharge.events."""
