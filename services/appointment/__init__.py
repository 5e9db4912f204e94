"""Appointment: books the 7- and 30-day follow-up, reminds, and catches missed visits."""
