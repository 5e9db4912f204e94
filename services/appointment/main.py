"""Builds the appointment service: runtime, subscription table, HTTP and FHIR routes, and the scheduler of due
reminders and deadline warnings."""

from fastapi import FastAPI

from shared.clock import Clock
from shared.runtime import build_http_app, build_runtime, declare_publishers, subscribe
from shared.scheduler import periodic

from . import __doc__ as SERVICE_DOC
from .api import build_router
from .db import TABLES
from .fhir_api import build_fhir_router
from .handlers.due_work import run_due_work
from .settings import AppointmentSettings
from .subscribers import API_EMITS, subscriptions


def create_app(settings: AppointmentSettings, clock: Clock | None = None) -> FastAPI:
    runtime = build_runtime(settings, TABLES, clock)
    subscribe(runtime, subscriptions(runtime))
    declare_publishers(runtime, API_EMITS)
    return build_http_app(
        runtime,
        title="Appointment",
        description=SERVICE_DOC or "",
        routers=[build_router(runtime), build_fhir_router(runtime)],
        background=[periodic("followup-due-work", run_due_work, settings.scheduler_interval_s)],
    )
