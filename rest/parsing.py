"""Reading request bodies and query strings into validated shapes."""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from core.errors import ValidationFailed
from core.validation import parse_model, validation_failed

M = TypeVar("M", bound=BaseModel)


def loads_json(raw: bytes | str, *, field: str = "body") -> Any:
    """JSON text as data: malformed, non-UTF-8 or too deeply nested text is a 422 naming
    `field`, never an error escaping as a 500."""
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field(field, f"malformed JSON ({exc.__class__.__name__})") from None
    except RecursionError:
        raise ValidationFailed.field(field, "JSON nested too deeply") from None


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    data = loads_json(raw) if raw else None
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "expected a JSON object")
    return parse_model(model, data)


def parse_query(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise validation_failed(exc, prefix="query.") from None
