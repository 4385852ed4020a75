"""Service views (dataclasses of UUIDs, datetimes, enums) to JSON-ready values."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID


def moment(value: datetime | None) -> str | None:
    """A timestamp as the API writes it (UTC as `Z`), the same text core.jsontext gives a
    datetime handed to it as it is (as the hot lists do)."""
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value
