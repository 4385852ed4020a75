"""Shared list mechanics: stable ordering, REST pages, Relay keyset cursors, totals."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from core.pagination import CursorRequest, Page, PageRequest

M = TypeVar("M", bound=SQLModel)


async def paginate(
    session: AsyncSession,
    model: type[M],
    conditions: list[Any],
    request: PageRequest | CursorRequest,
    *,
    newest_first: bool = False,
) -> Page[M]:
    """Rows of `model` matching `conditions`, ordered by (created_at, id), oldest first
    unless `newest_first`."""
    created, row_id = model.created_at, model.id  # type: ignore[attr-defined]
    total = 0
    if isinstance(request, PageRequest) or request.with_total:
        count = sa.select(sa.func.count()).select_from(model).where(*conditions)
        total = (await session.execute(count)).scalar_one()
    order = (created.desc(), row_id.desc()) if newest_first else (created, row_id)
    stmt = sa.select(model).where(*conditions).order_by(*order)
    if isinstance(request, PageRequest):
        stmt = stmt.offset(request.offset).limit(request.per_page)
        rows = list((await session.execute(stmt)).scalars())
        return Page(rows, total, has_next=request.offset + len(rows) < total)
    position = request.position()
    if position is not None:
        key, after = sa.tuple_(created, row_id), sa.tuple_(*position)
        stmt = stmt.where(key < after if newest_first else key > after)
    rows = list((await session.execute(stmt.limit(request.first + 1))).scalars())
    return Page(rows[: request.first], total, has_next=len(rows) > request.first)


def violated_constraint(exc: IntegrityError) -> str | None:
    """The name of the constraint or unique index an insert or update broke."""
    cause = getattr(exc.orig, "__cause__", None)
    return getattr(cause, "constraint_name", None) or getattr(exc.orig, "constraint_name", None)
