"""Input validation shared by both surfaces: malformed JSON, wrong types and unknown
fields become VALIDATION_ERROR naming the field."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError

from core.errors import ValidationFailed

M = TypeVar("M", bound=BaseModel)


_INT_LIMIT = 2**63


def _storable(value: Any) -> None:
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return
    if isinstance(value, int):
        if not -_INT_LIMIT <= value < _INT_LIMIT:
            raise ValueError("numbers must fit in 64 bits")
    elif isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text may not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _storable(key)
            _storable(item)
    elif isinstance(value, list):
        for item in value:
            _storable(item)


def storable_json(value: dict[str, Any]) -> dict[str, Any]:
    """Free-form JSON that a jsonb column can hold and the response encoder can write."""
    _storable(value)
    return value


# Free-form objects (metadata, settings) as the client sends them, refused here rather
# than by the database when they hold what JSONB or the encoder cannot.
JsonObject = Annotated[dict[str, Any], AfterValidator(storable_json)]


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
