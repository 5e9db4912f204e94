"""Running the platform: the local Kafka broker, PostgreSQL for tests, the process stack and the demo feed."""
