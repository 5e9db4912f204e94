"""Kafka authentication: the broker's opt-in SASL listener (infra/kafka/broker.py --sasl-port) refuses a wrong
password and an unknown user, with PLAIN and with SCRAM-SHA-256, and lets the platform's own client code in with the
right ones (shared.kafka.new_broker + KafkaSettings, as every service connects). docs/kafka-security.md."""

from __future__ import annotations

import pytest

from infra.chaos_broker import LocalCluster
from infra.chaos_sasl import MECHANISMS, sasl_refuses_strangers, sasl_verdict

pytestmark = pytest.mark.integration


async def test_sasl_listener_refuses_strangers_and_admits_the_platform(chaos_cluster: LocalCluster) -> None:
    report = await sasl_refuses_strangers(chaos_cluster)
    print(report)

    assert set(report) == set(MECHANISMS)
    assert sasl_verdict(report) == []
