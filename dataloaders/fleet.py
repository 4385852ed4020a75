"""Fleet loaders: one SQL statement per batch of keys, results aligned to the keys. Drivers
and users are read on a plain connection (the request's read, core.db.Database.read) as
records; vehicles through the ORM session of their batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Vehicle
from models.fleet_records import (
    DRIVER_COLUMNS,
    JOIN_USER,
    USER_COLUMNS,
    DriverRecord,
    UserRecord,
)

R = TypeVar("R")
Batch = Callable[[Sequence[UUID]], Awaitable[list[R | None]]]


def _aligned(keys: Sequence[UUID], rows: list[Any], key: Callable[[Any], UUID | None]) -> list[Any]:
    by_key = {key(row): row for row in rows}
    return [by_key.get(k) for k in keys]


# Both repeat no workspace condition: the keys come from rows the caller could read, and
# Row-Level Security scopes every table of the statement to the read's workspace.
_DRIVERS_WITH_USERS = f"""SELECT {DRIVER_COLUMNS}, {USER_COLUMNS}
FROM drivers d {JOIN_USER} WHERE d.vehicle_id = ANY($1::uuid[])"""  # noqa: S608 (constants only)
_USERS = f"""SELECT {USER_COLUMNS} FROM users u
WHERE u.id = ANY($1::uuid[]) AND u.deleted_at IS NULL"""  # noqa: S608 (constants only)


async def drivers_with_users_by_vehicle(
    conn: asyncpg.Connection, keys: Sequence[UUID]
) -> list[tuple[DriverRecord, UserRecord | None] | None]:
    """Each vehicle's driver with the driver's user (None once deleted), in one statement:
    a query asking for the driver almost always asks for the user."""
    pairs = []
    for row in await conn.fetch(_DRIVERS_WITH_USERS, list(keys)):
        driver = DriverRecord.of(row)
        assert driver is not None
        pairs.append((driver, UserRecord.of(row)))
    return _aligned(keys, pairs, lambda pair: pair[0].vehicle_id)


async def users_by_id(conn: asyncpg.Connection, keys: Sequence[UUID]) -> list[UserRecord | None]:
    users = [UserRecord.of(row) for row in await conn.fetch(_USERS, list(keys))]
    return _aligned(keys, users, lambda u: u.id)


async def vehicles_by_id(session: AsyncSession, keys: Sequence[UUID]) -> list[Vehicle | None]:
    rows = await session.exec(
        select(Vehicle).where(col(Vehicle.id).in_(keys), col(Vehicle.deleted_at).is_(None))
    )
    return _aligned(keys, list(rows), lambda v: v.id)
