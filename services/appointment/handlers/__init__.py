"""Appointment's use cases, one module per kind: discharges and specialists, booking, visits, rides, due work,
the provider directory, and reads for the API."""
