"""The project's own library: event contracts, the envelope, settings, outbox/inbox/DLQ and database helpers."""
