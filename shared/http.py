"""HTTP request bodies validated as JSON against the strict event models.

FastAPI validates parsed Python objects, where strict models refuse ISO date strings; pydantic's JSON mode
accepts them. So bodies are read raw and validated with `model_validate_json`, and the OpenAPI schema is
declared from the same model.
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import HTTPException, Request, status
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def json_body_schema(model: type[BaseModel]) -> dict[str, Any]:
    """openapi_extra for a route whose body is `model`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema(ref_template="#/components/schemas/{model}")}
            },
        }
    }


async def read_json_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        return model.model_validate_json(raw)
    except ValidationError as error:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            detail=[
                {"field": ".".join(str(p) for p in e["loc"]) or "<body>", "error": e["msg"], "type": e["type"]}
                for e in error.errors(include_url=False, include_input=False)
            ],
        ) from error
