"""Strawberry inputs turn themselves into the request models the services take, with the
same validation (VALIDATION_ERROR naming the field) as the REST bodies."""

from __future__ import annotations

from typing import Any, TypeVar

import strawberry
from pydantic import BaseModel

from core.errors import ValidationFailed
from core.validation import parse_model

M = TypeVar("M", bound=BaseModel)


def input_dict(value: object) -> dict[str, Any]:
    """A Strawberry input as a plain dict, leaving out fields the client did not send."""
    return {
        key: item for key, item in strawberry.asdict(value).items() if item is not strawberry.UNSET
    }


def request(model: type[M], value: object | None, **nested: Any) -> M:
    """`value` (a Strawberry input, or None for an omitted optional one) as `model`;
    `nested` replaces fields after conversion."""
    data = input_dict(value) if value is not None else {}
    data.update(nested)
    return parse_model(model, data)


def plain(model: type[M], value: object, *, nested: tuple[str, ...] = ()) -> M:
    """Like `request`, leaving out the unsent fields of the nested inputs named."""
    data = input_dict(value)
    for key in nested:
        if isinstance(data.get(key), dict):
            data[key] = {k: v for k, v in data[key].items() if v is not None}
    return parse_model(model, data)


def parse(model: type[M], data: Any) -> M:
    return parse_model(model, data)


def fields(model: type[M], **values: Any) -> M:
    """Arguments of a field as `model`."""
    return parse_model(model, values)


MAX_WAIT_S = 60.0


def check_wait(wait: float) -> None:
    """A mutation's `wait` (seconds to wait for its job), as REST's `?wait=` takes it."""
    if not 0 <= wait <= MAX_WAIT_S:
        raise ValidationFailed.field("wait", f"must be between 0 and {MAX_WAIT_S:g} seconds")
