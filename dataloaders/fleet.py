"""Fleet loaders: one SQL statement per batch of keys, results aligned to the keys."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Driver, User, Vehicle

R = TypeVar("R")
Batch = Callable[[Sequence[UUID]], Awaitable[list[R | None]]]


def _aligned(keys: Sequence[UUID], rows: list[Any], key: Callable[[Any], UUID | None]) -> list[Any]:
    by_key = {key(row): row for row in rows}
    return [by_key.get(k) for k in keys]


async def drivers_with_users_by_vehicle(
    session: AsyncSession, keys: Sequence[UUID]
) -> list[tuple[Driver, User | None] | None]:
    """Each vehicle's driver with the driver's user (None once deleted), in one statement:
    a query asking for the driver almost always asks for the user."""
    user_of = sa.and_(col(User.id) == col(Driver.user_id), col(User.deleted_at).is_(None))
    rows = await session.exec(
        select(Driver, User).outerjoin(User, user_of).where(col(Driver.vehicle_id).in_(keys))
    )
    return _aligned(keys, list(rows), lambda pair: pair[0].vehicle_id)


async def users_by_id(session: AsyncSession, keys: Sequence[UUID]) -> list[User | None]:
    rows = await session.exec(
        select(User).where(col(User.id).in_(keys), col(User.deleted_at).is_(None))
    )
    return _aligned(keys, list(rows), lambda u: u.id)


async def vehicles_by_id(session: AsyncSession, keys: Sequence[UUID]) -> list[Vehicle | None]:
    rows = await session.exec(
        select(Vehicle).where(col(Vehicle.id).in_(keys), col(Vehicle.deleted_at).is_(None))
    )
    return _aligned(keys, list(rows), lambda v: v.id)
