"""Reading request bodies and query strings into validated shapes."""

from __future__ import annotations

import json
from typing import TypeVar

from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from core.errors import ValidationFailed
from core.validation import parse_model, validation_failed

M = TypeVar("M", bound=BaseModel)


async def parse_body(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        data = json.loads(raw) if raw else None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValidationFailed.field("body", f"malformed JSON ({exc.__class__.__name__})") from None
    except RecursionError:
        raise ValidationFailed.field("body", "JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ValidationFailed.field("body", "expected a JSON object")
    return parse_model(model, data)


def parse_query(request: Request, model: type[M]) -> M:
    try:
        return model.model_validate(dict(request.query_params))
    except ValidationError as exc:
        raise validation_failed(exc, prefix="query.") from None
