"""Builds the intake service: its runtime, HTTP routes (JSON, FHIR) and its HL7 v2 MLLP listener."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import Background, ServiceRuntime, build_http_app, build_runtime, declare_publishers
from shared.topics import TOPICS

from .api import build_router
from .db import TABLES
from .fhir_api import build_fhir_router
from .hl7.mllp import MllpServer, server_tls
from .hl7.receiver import Hl7Receiver
from .hl7_mapping import load_mapping
from .senders import SenderPolicy
from .settings import IntakeSettings


def create_app(settings: IntakeSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    declare_publishers(runtime, TOPICS["discharge.events"].events)
    tls = None
    if settings.mllp_tls_cert_file and settings.mllp_tls_key_file:
        tls = server_tls(settings.mllp_tls_cert_file, settings.mllp_tls_key_file, settings.mllp_tls_client_ca_file)
    mllp = MllpServer(
        Hl7Receiver(
            runtime, load_mapping(settings.hl7_mapping_file), senders=SenderPolicy.of(settings.sender_facilities)
        ),
        host=settings.mllp_host,
        port=settings.mllp_port,
        max_message_bytes=settings.mllp_max_message_bytes,
        idle_timeout_s=settings.mllp_idle_timeout_s,
        max_connections=settings.mllp_max_connections,
        tls=tls,
    )
    app = build_http_app(
        runtime,
        title="Intake",
        description="Admit and discharge events from facility systems, published on discharge.events.",
        routers=[build_router(runtime), build_fhir_router(runtime)],
        background=[_listening(mllp)] if settings.mllp_enabled else [],
    )
    app.state.mllp = mllp
    return app


def _listening(server: MllpServer) -> Background:
    """The MLLP listener runs while the broker and outbox relay do, so every ACK follows a durable accept."""

    @asynccontextmanager
    async def listen(_runtime: ServiceRuntime) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    return listen
