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


def _nul_path(value: Any, path: str) -> str | None:
    """Where a NUL character hides in a JSON value (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_path(key, path) or _nul_path(item, f"{path}.{key}" if path else str(key))
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_path(item, f"{path}.{index}" if path else str(index))
            if found is not None:
                return found
    return None


def parse_model(model: type[M], data: Any) -> M:
    nul = _nul_path(data, "")
    if nul is not None:
        raise ValidationFailed.field(nul or "body", "must not contain NUL characters")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(exc) from None
