"""The published contracts under docs/ say what the code does: event schemas, AsyncAPI, OpenAPI, topic index."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from infra import contracts
from shared.events import ALL_EVENTS, Event

pytestmark = pytest.mark.unit
REGENERATE = "run `make docs` (python -m infra.contracts) and commit the result"


@pytest.fixture(scope="module")
def rendered() -> dict[Path, str]:
    return contracts.render()


def nested_models(model: type[BaseModel]) -> Iterator[type[BaseModel]]:
    """The model and every model its fields hold, however deep (tuples, optionals, unions)."""
    seen: set[type[BaseModel]] = set()
    pending = [model]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        for field in current.model_fields.values():
            types = [field.annotation]
            while types:
                kind = types.pop()
                types.extend(typing.get_args(kind))
                if inspect.isclass(kind) and issubclass(kind, BaseModel):
                    pending.append(kind)


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda cls: cls.ce_type)
def test_each_event_schema_is_published_as_its_model_says(event: type[Event], rendered: dict[Path, str]) -> None:
    path = contracts.DOCS / "schemas" / f"{event.ce_type}.json"
    assert path.is_file(), f"{event.__name__} has no published schema {path.name}: {REGENERATE}"
    assert path.read_text() == rendered[path], f"{event.__name__} changed but {path.name} did not: {REGENERATE}"


def test_the_asyncapi_openapi_and_topic_documents_are_current(rendered: dict[Path, str]) -> None:
    stale = [str(path.relative_to(contracts.REPO)) for path in contracts.stale(rendered)]
    assert not stale, f"stale published contracts {stale}: {REGENERATE}"


def test_regenerating_without_changes_gives_identical_files(rendered: dict[Path, str]) -> None:
    assert contracts.render() == rendered


@pytest.mark.parametrize("service", contracts.SERVICES)
def test_every_channel_of_a_service_names_its_event_types_and_envelope(service: str, rendered: dict[Path, str]) -> None:
    document = yaml.safe_load(rendered[contracts.DOCS / "asyncapi" / f"{service}.yaml"])
    runtime = contracts.create_service_app(service).state.runtime
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == runtime.produces | runtime.consumes
    for name, message in document["components"]["messages"].items():
        narrowed = message["headers"]["allOf"][1]["properties"]["ce_type"]["enum"]
        assert narrowed, f"{name}: no event type documented for its payload"
        assert message["bindings"]["kafka"]["key"]["type"] == "string"
    assert set(document["components"]["schemas"][contracts.HEADERS_SCHEMA]["required"]) >= {"ce_type", "ce_subject"}


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda cls: cls.ce_type)
def test_each_event_type_says_what_it_means(event: type[Event]) -> None:
    # Its own docstring, not one inherited from `Event`: it becomes the schema's description.
    assert (vars(event).get("__doc__") or "").strip(), f"{event.__name__} needs a docstring"


def holds_a_model(annotation: object) -> bool:
    """Whether a field's type is (or holds: optional, union, tuple) a model, whose own fields carry the examples."""
    pending = [annotation]
    while pending:
        kind = pending.pop()
        pending.extend(typing.get_args(kind))
        if inspect.isclass(kind) and issubclass(kind, BaseModel):
            return True
    return False


@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda cls: cls.ce_type)
def test_every_field_a_reader_meets_has_a_description_and_scalars_an_example(event: type[Event]) -> None:
    fields = [(model, name, field) for model in nested_models(event) for name, field in model.model_fields.items()]
    undescribed = [f"{model.__name__}.{name}" for model, name, field in fields if not field.description]
    without_example = [
        f"{model.__name__}.{name}"
        for model, name, field in fields
        if not field.examples and not holds_a_model(field.annotation)
    ]
    assert not undescribed, f"give these fields Field(description=...): {undescribed}"
    assert not without_example, f"give these fields Field(examples=[...]): {without_example}"
