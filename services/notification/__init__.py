"""Notification: delivers notification requests to specialists, supervisors and coordinators, and hears back."""
