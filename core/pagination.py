"""Pagination for both surfaces: pages for REST, opaque keyset cursors for Relay.

Lists are ordered by (created_at, id), which never changes for a row, so a cursor stays
valid while rows are added or removed around it.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar
from uuid import UUID

from core.errors import ValidationFailed

T = TypeVar("T")
MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**62


@dataclass(frozen=True, slots=True)
class PageRequest:
    """REST: `page` from 1, `per_page` up to MAX_PAGE_SIZE."""

    page: int = 1
    per_page: int = 20

    def __post_init__(self) -> None:
        if self.page < 1:
            raise ValidationFailed.field("query.page", "must be 1 or more")
        if not 1 <= self.per_page <= MAX_PAGE_SIZE:
            raise ValidationFailed.field("query.per_page", f"must be 1 to {MAX_PAGE_SIZE}")
        if self.offset > MAX_OFFSET:  # PostgreSQL's OFFSET is a bigint
            raise ValidationFailed.field("query.page", "is beyond the last possible page")

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True, slots=True)
class CursorRequest:
    """Relay: `first` rows after `after` (an opaque cursor from a previous page)."""

    first: int = 20
    after: str | None = None
    with_total: bool = True
    """Counting every matching row costs a scan; skip it when nobody asked."""

    def __post_init__(self) -> None:
        if not 1 <= self.first <= MAX_PAGE_SIZE:
            raise ValidationFailed.field("first", f"must be 1 to {MAX_PAGE_SIZE}")

    def position(self) -> tuple[datetime, UUID] | None:
        return decode_cursor(self.after) if self.after else None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int
    has_next: bool = False


def encode_cursor(created_at: datetime, row_id: UUID) -> str:
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        return datetime.fromisoformat(created_at), UUID(row_id)
    except (ValueError, TypeError, json.JSONDecodeError):
        raise ValidationFailed.field("after", "is not a cursor from this list") from None
