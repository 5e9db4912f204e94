"""Published contracts under docs/: AsyncAPI and OpenAPI per service, a JSON Schema per event type, a topic index.

`python -m infra.contracts` (`make docs`) regenerates them; `--check` lists stale files, writes nothing, exits 1.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from faststream.specification import AsyncAPI
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from shared.dlq import DEAD_LETTER_REASONS, DLQ_HEADERS
from shared.envelope import CONTENT_TYPE, SPEC_VERSION
from shared.events import ALL_EVENTS, CaseOpened, Event
from shared.settings import KafkaSettings, ServiceSettings
from shared.topics import TOPICS

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs"
# The generated trees: a file in one of them that generation no longer produces is stale too.
GENERATED_DIRS = (DOCS / "asyncapi", DOCS / "openapi", DOCS / "schemas")
SERVICES = ("intake", "assignment", "transport", "appointment", "resource", "notification", "coordinator")
CONTRACT_VERSION = "1.0.0"
# Creating an app does no I/O, but settings refuse to start without a key. The documents must not depend on
# the caller's environment, so Kafka's address is fixed too (it becomes the AsyncAPI server).
DOCS_API_KEY = "docs:contracts-generation-only-key"
DOCS_KAFKA = KafkaSettings(bootstrap_servers="127.0.0.1:9092", security_protocol="PLAINTEXT", sasl_mechanism=None)
EVENTS_BY_MODEL = {cls.__name__: cls for cls in ALL_EVENTS}

console = Console(stderr=True)


def create_service_app(service: str) -> FastAPI:
    """The service's FastAPI app, built the way its `__main__` builds it, but from fixed settings."""
    main = importlib.import_module(f"services.{service}.main")
    settings_module = importlib.import_module(f"services.{service}.settings")
    settings_cls = next(
        value
        for value in vars(settings_module).values()
        if isinstance(value, type) and issubclass(value, ServiceSettings) and value is not ServiceSettings
    )
    settings = settings_cls(API_KEYS=DOCS_API_KEY, kafka=DOCS_KAFKA)
    app: FastAPI = main.create_app(settings)
    return app


def event_topic(cls: type[Event], service: str = "<service>") -> str:
    # CaseOpened has no fixed topic: each domain service emits it on its own events topic.
    return cls.topic or f"{service}.events"


def event_schema(cls: type[Event]) -> dict[str, Any]:
    """The JSON Schema a producer's payload of this type must satisfy, with its CloudEvents type and topic."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **cls.model_json_schema(),
        "x-ce-type": cls.ce_type,
        "x-topic": event_topic(cls),
        "x-version": cls.version(),
    }


def service_description(service: str) -> str:
    summary = (importlib.import_module(f"services.{service}").__doc__ or "").strip()
    reasons = ", ".join(f"`{reason}`" for reason in DEAD_LETTER_REASONS)
    headers = ", ".join(f"`{header}`" for header in DLQ_HEADERS)
    paragraphs = (
        summary,
        f"**Envelope.** Every message is a CloudEvents {SPEC_VERSION} event in Kafka binary content mode: the "
        "`ce_*` headers carry the envelope (each message's `headers`), the body is the JSON event data and the "
        "key is the case id. `ce_type` (versioned, e.g. `discharge.registered.v1`) names the payload schema the "
        "body follows; a channel's payload lists every type that travels on it. All events of one case share a "
        "key, so they are ordered on one partition.",
        "**Dead letters.** A message a consumer cannot process after its retries goes, byte for byte, to the "
        f"topic's twin `<topic>.dlq` with the reason in its headers ({headers}); `dlq_reason` is one of {reasons}. "
        "Nothing is dropped silently.",
        "Each event type's JSON Schema is also published on its own as `docs/schemas/<ce_type>.json`.",
    )
    return "\n\n".join(paragraphs)


HEADERS_SCHEMA = "CloudEventsHeaders"


def cloudevents_headers() -> dict[str, Any]:
    """The Kafka headers of every message: binary content mode (CloudEvents Kafka protocol binding §3.2)."""
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "ce_subject"],
        "properties": {
            "ce_specversion": {"type": "string", "const": SPEC_VERSION, "description": "CloudEvents version."},
            "ce_id": {
                "type": "string",
                "description": "Unique per event. Consumers deduplicate on it: a redelivery has the same ce_id.",
                "examples": ["5b1d3c9e-8f0a-4d2b-9c7e-1a2b3c4d5e6f"],
            },
            "ce_source": {
                "type": "string",
                "description": "URI reference of the sender, e.g. `/intake` or a vendor's own.",
                "examples": ["/transport"],
            },
            "ce_type": {
                "type": "string",
                "description": "The versioned event type; it names the payload schema of the body.",
                "examples": ["discharge.registered.v1"],
            },
            "ce_time": {
                "type": "string",
                "format": "date-time",
                "description": "When the fact happened, RFC 3339 with a time zone offset.",
            },
            "ce_subject": {
                "type": "string",
                "description": "The case id: equal to the message key and to the body's `case_id`.",
            },
            "content-type": {"type": "string", "const": CONTENT_TYPE, "description": "The body's media type."},
            "correlation_id": {
                "type": "string",
                "description": "Set by the platform's Kafka client (FastStream); not part of the event.",
            },
        },
    }


def _payload_models(payload: dict[str, Any], schemas: dict[str, Any]) -> list[str]:
    """The event model names a message payload may be, following FastStream's `$ref` and `anyOf`."""
    ref = payload.get("$ref", "")
    name = ref.rsplit("/", 1)[-1]
    if name in EVENTS_BY_MODEL:
        return [name]
    if name in schemas:
        return _payload_models(schemas[name], schemas)
    return [m for option in payload.get("anyOf", []) for m in _payload_models(option, schemas)]


def asyncapi_document(service: str, app: FastAPI) -> dict[str, Any]:
    """FastStream's AsyncAPI 3.0 document of the service's broker, with the CloudEvents headers and key added.

    FastStream leaves message headers and Kafka message bindings out, and a vendor cannot read a message
    without them.
    """
    broker = app.state.runtime.broker
    with warnings.catch_warnings():
        # FastStream warns when two channels or schemas collide; in a published contract that is an error.
        warnings.simplefilter("error", RuntimeWarning)
        spec = AsyncAPI(
            broker,
            title=service,
            version=CONTRACT_VERSION,
            description=service_description(service),
            schema_version="3.0.0",
        ).to_specification()
    document: dict[str, Any] = spec.to_jsonable()
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    if HEADERS_SCHEMA in schemas:
        raise ValueError(f"a payload model is named {HEADERS_SCHEMA}, the name of the envelope's header schema")
    schemas[HEADERS_SCHEMA] = cloudevents_headers()
    for name, schema in schemas.items():
        if cls := EVENTS_BY_MODEL.get(name):
            schema["x-ce-type"] = cls.ce_type
    headers_ref = {"$ref": f"#/components/schemas/{HEADERS_SCHEMA}"}
    for message in components.get("messages", {}).values():
        models = _payload_models(message["payload"], schemas)
        message["contentType"] = CONTENT_TYPE
        # One shared header schema; each message narrows ce_type to the types its channel carries.
        message["headers"] = (
            {
                "allOf": [
                    headers_ref,
                    {"properties": {"ce_type": {"enum": [EVENTS_BY_MODEL[m].ce_type for m in models]}}},
                ]
            }
            if models
            else headers_ref
        )
        message["bindings"] = {
            "kafka": {
                "key": {"type": "string", "description": "The case id (`ce_subject`); it keeps a case in order."},
                "bindingVersion": "0.4.0",
            }
        }
        if models:
            listed = "; ".join(f"`{EVENTS_BY_MODEL[m].ce_type}` → {m}" for m in models)
            message["description"] = f"The `ce_type` header names the payload schema: {listed}."
    return document


def topic_index() -> str:
    """docs/schemas/index.md: every topic, its producers and consumers, and the event types on it."""
    lines = [
        "# Topics and event types",
        "",
        "Generated by `make docs` (`python -m infra.contracts`) from `shared/topics.py` and `shared/events/`;",
        "do not edit. Every topic has a dead-letter twin `<topic>.dlq` (see `docs/contracts.md`).",
        "",
        "| topic | producers | consumers | vendor-facing | event types |",
        "| --- | --- | --- | --- | --- |",
    ]
    for topic in sorted(TOPICS.values(), key=lambda t: t.name):
        types = ", ".join(f"[`{cls.ce_type}`]({cls.ce_type}.json)" for cls in topic.events)
        lines.append(
            f"| `{topic.name}` | {', '.join(topic.producers)} | {', '.join(topic.consumers)} | "
            f"{'yes' if topic.vendor_facing else 'no'} | {types} |"
        )
    lines += ["", "## Event types", "", "| ce_type | model | topic | what it says |", "| --- | --- | --- | --- |"]
    for cls in sorted(ALL_EVENTS, key=lambda c: c.ce_type):
        summary = " ".join((cls.__doc__ or "").split())
        topic = f"`{event_topic(cls)}`" + (" (the emitting service's own)" if cls is CaseOpened else "")
        lines.append(f"| [`{cls.ce_type}`]({cls.ce_type}.json) | `{cls.__name__}` | {topic} | {summary} |")
    return "\n".join(lines) + "\n"


def _json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


class _PlainDumper(yaml.SafeDumper):
    """Writes a repeated object out again instead of as a YAML anchor, which readers of a contract stumble on."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def represent_str(self, data: str) -> yaml.ScalarNode:
        # Multi-line text (descriptions) as a literal block, so it reads as written.
        return self.represent_scalar("tag:yaml.org,2002:str", data, style="|" if "\n" in data else None)


_PlainDumper.add_representer(str, _PlainDumper.represent_str)


def _yaml(document: Any) -> str:
    return yaml.dump(document, Dumper=_PlainDumper, sort_keys=True, allow_unicode=True, width=120)


def render(services: Iterable[str] = SERVICES) -> dict[Path, str]:
    """Every published contract file and its content, in a stable order."""
    services = tuple(services)
    files: dict[Path, str] = {}
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console, transient=True
    ) as progress:
        task = progress.add_task("contracts", total=len(services) + len(ALL_EVENTS) + 1)
        for service in services:
            progress.update(task, description=f"{service}: AsyncAPI and OpenAPI")
            app = create_service_app(service)
            files[DOCS / "asyncapi" / f"{service}.yaml"] = _yaml(asyncapi_document(service, app))
            files[DOCS / "openapi" / f"{service}.json"] = _json(app.openapi())
            progress.advance(task)
        for cls in ALL_EVENTS:
            progress.update(task, description=f"schema {cls.ce_type}")
            files[DOCS / "schemas" / f"{cls.ce_type}.json"] = _json(event_schema(cls))
            progress.advance(task)
        files[DOCS / "schemas" / "index.md"] = topic_index()
        progress.advance(task)
    return files


def stale(files: dict[Path, str]) -> list[Path]:
    """Files that differ from what generation produces, are missing, or are no longer produced."""
    outdated = [path for path, text in files.items() if not path.is_file() or path.read_text() != text]
    orphans = [path for folder in GENERATED_DIRS if folder.is_dir() for path in folder.iterdir() if path not in files]
    return sorted(outdated + orphans)


def write(files: dict[Path, str]) -> list[Path]:
    changed = stale(files)
    for path in changed:
        if path in files:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(files[path])
        else:
            path.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.contracts", description=__doc__)
    parser.add_argument("--check", action="store_true", help="list stale files and exit 1 instead of writing")
    args = parser.parse_args(argv)
    files = render()
    if args.check:
        outdated = stale(files)
        for path in outdated:
            console.print(f"stale: {path.relative_to(REPO)}")
        if outdated:
            console.print("[red]published contracts are out of date: run `make docs`[/red]")
            return 1
        console.print(f"{len(files)} contract files are current")
        return 0
    changed = write(files)
    for path in changed:
        console.print(f"{'wrote' if path in files else 'removed'} {path.relative_to(REPO)}")
    console.print(f"{len(files)} contract files, {len(changed)} changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
