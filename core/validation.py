"""Input validation shared by both surfaces: malformed JSON, wrong types and unknown
fields become VALIDATION_ERROR naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


class Body(BaseModel):
    """Base of every request body: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def validation_failed(exc: ValidationError, *, prefix: str = "") -> ValidationFailed:
    fields = [
        {
            "field": prefix + ".".join(str(part) for part in err["loc"]) or "body",
            "message": "unknown field" if err["type"] == "extra_forbidden" else err["msg"],
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return ValidationFailed(f"Invalid request: {summary}", details={"fields": fields})


def parse_model(model: type[M], data: Any) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None
