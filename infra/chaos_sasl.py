"""The broker's SASL listener (infra/kafka/broker.py --sasl-port): strangers are refused, the platform's own
credentials work through the same client code the services use (shared.kafka.new_broker + KafkaSettings)."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from typing import Any

from aiokafka.errors import KafkaError
from pydantic import SecretStr

from shared.dlq import read_topic
from shared.kafka import new_broker
from shared.settings import KafkaSettings

from .chaos_broker import LocalCluster

MECHANISMS = ("PLAIN", "SCRAM-SHA-256")


def sasl_settings(cluster: LocalCluster, mechanism: str, username: str, password: str) -> KafkaSettings:
    return KafkaSettings(
        bootstrap_servers=cluster.sasl_bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism=mechanism,  # type: ignore[arg-type]
        sasl_username=username,
        sasl_password=SecretStr(password),
    )


async def publish_once(settings: KafkaSettings, topic: str, timeout_s: float = 30.0) -> str | None:
    """None when a record was published and read back; otherwise the error that stopped it."""
    broker = new_broker(settings, client_id="chaos-sasl")
    try:
        await asyncio.wait_for(broker.connect(), timeout_s)
        await asyncio.wait_for(broker.publish(b"sasl probe", topic=topic, key=b"sasl"), timeout_s)
    except (KafkaError, TimeoutError, OSError) as error:
        return f"{type(error).__name__}: {error}"
    finally:
        await broker.stop()
    records = await read_topic(settings, topic, timeout_s=timeout_s)
    return None if any(r.value == b"sasl probe" for r in records) else "published but not read back"


async def sasl_refuses_strangers(cluster: LocalCluster) -> dict[str, Any]:
    """Per mechanism: the right password works end to end; a wrong password and an unknown user are refused."""
    user, password = cluster.credential("KAFKA_SASL_USERNAME"), cluster.credential("KAFKA_SASL_PASSWORD")
    report: dict[str, Any] = {}
    for mechanism in MECHANISMS:
        topic = f"chaos.sasl.{uuid.uuid4().hex[:8]}"
        report[mechanism] = {
            "right_credentials": await publish_once(sasl_settings(cluster, mechanism, user, password), topic) or "ok",
            "wrong_password": await publish_once(
                sasl_settings(cluster, mechanism, user, secrets.token_urlsafe(16)), topic, timeout_s=15
            )
            or "ACCEPTED",
            "unknown_user": await publish_once(
                sasl_settings(cluster, mechanism, "mallory", secrets.token_urlsafe(16)), topic, timeout_s=15
            )
            or "ACCEPTED",
        }
    return report


def sasl_verdict(report: dict[str, Any]) -> list[str]:
    """What is wrong in a report of `sasl_refuses_strangers`."""
    problems = []
    for mechanism, outcome in report.items():
        if outcome["right_credentials"] != "ok":
            problems.append(f"{mechanism}: the right credentials failed: {outcome['right_credentials']}")
        for stranger in ("wrong_password", "unknown_user"):
            if outcome[stranger] == "ACCEPTED":
                problems.append(f"{mechanism}: {stranger.replace('_', ' ')} was accepted")
    return problems
