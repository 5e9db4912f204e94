"""Kafka connections from settings: the FastStream broker every service uses, and topic provisioning."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Iterable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream.kafka import KafkaBroker
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from .settings import KafkaSettings
from .topics import dead_letter_topic


def _ssl_context(settings: KafkaSettings) -> ssl.SSLContext | None:
    if settings.security_protocol not in ("SSL", "SASL_SSL"):
        return None
    context = ssl.create_default_context(cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None)
    if settings.ssl_certfile:
        context.load_cert_chain(str(settings.ssl_certfile), str(settings.ssl_keyfile) if settings.ssl_keyfile else None)
    return context


def broker_security(settings: KafkaSettings) -> BaseSecurity | None:
    context = _ssl_context(settings)
    if settings.security_protocol.startswith("SASL"):
        if not (settings.sasl_mechanism and settings.sasl_username and settings.sasl_password):
            raise ValueError("KAFKA_SECURITY_PROTOCOL=SASL_* needs KAFKA_SASL_MECHANISM, _USERNAME and _PASSWORD")
        kind = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}
        return kind[settings.sasl_mechanism](
            settings.sasl_username,
            settings.sasl_password.get_secret_value(),
            ssl_context=context,
            use_ssl=settings.security_protocol == "SASL_SSL",
        )
    return BaseSecurity(ssl_context=context) if context else None


def client_options(settings: KafkaSettings) -> dict[str, Any]:
    """Keyword arguments for plain aiokafka clients (admin, DLQ reader, benchmark baseline)."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.bootstrap_hosts,
        "security_protocol": settings.security_protocol,
    }
    if context := _ssl_context(settings):
        options["ssl_context"] = context
    if settings.sasl_mechanism:
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = settings.sasl_password.get_secret_value() if settings.sasl_password else None
    return options


def new_broker(settings: KafkaSettings, client_id: str) -> KafkaBroker:
    # acks=all + idempotence: an acknowledged write survives a leader change and is never doubled by retries.
    return KafkaBroker(
        settings.bootstrap_hosts,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        security=broker_security(settings),
        graceful_timeout=15.0,
    )


async def ensure_topics(settings: KafkaSettings, topics: Iterable[str], *, with_dead_letters: bool = True) -> None:
    """Create the topics (and their `.dlq` twins) a service uses, if absent; partitions keep cases ordered by key."""
    names = set(topics)
    if with_dead_letters:
        names |= {dead_letter_topic(t) for t in names if not t.endswith(".dlq")}
    admin = AIOKafkaAdminClient(**client_options(settings), client_id="topic-provisioner")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, num_partitions=settings.topic_partitions, replication_factor=settings.replication_factor)
            for name in sorted(names - existing)
        ]
        if missing:
            # Another service may create one between list and create: that is success too.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()
