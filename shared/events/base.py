"""What every event payload shares: frozen, strict, self-describing models with a versioned CloudEvents type."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field


class Event(BaseModel):
    """Base of every event body. Subclasses set `ce_type` (versioned) and `topic`.

    Strict: a wrong type is an error, never silently coerced, so a producer's bug surfaces at its source.
    """

    # No NaN or infinity: JSON has no such numbers, so they could not survive the trip (RFC 8259 §6).
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid", use_enum_values=False, allow_inf_nan=False)

    ce_type: ClassVar[str]
    topic: ClassVar[str]

    case_id: str = Field(
        description="The discharge case this event belongs to; also the Kafka key and ce_subject.",
        examples=["0f8e2a4b-6c1d-5e3f-9a7b-2c4d6e8f0a1b"],
        min_length=1,
        max_length=64,
    )

    @classmethod
    def version(cls) -> int:
        return int(cls.ce_type.rsplit(".v", 1)[1])
