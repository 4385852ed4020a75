"""Per-request dataloaders, one per access pattern, created in the GraphQL context.

Every batch reads under the caller's workspace scope, so Row-Level Security applies to
loaded relations exactly as to the query that led to them. Drivers and users are read on the
request's `reader` (in a query operation, the one transaction all its reads share; see
schema.context.Context.read); the other loaders open a short ORM transaction per batch.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar
from uuid import UUID

import asyncpg
from sqlmodel.ext.asyncio.session import AsyncSession
from strawberry.dataloader import DataLoader

from core.db import Database
from dataloaders import fleet, operations, routing
from models import (
    IncidentUnit,
    Location,
    Route,
    RoutePath,
    RouteStop,
    Vehicle,
)
from models.fleet_records import DriverRecord, UserRecord

R = TypeVar("R")
Reader = Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]


@dataclass
class DataLoaders:
    """Every loader of one request, so that their caches live exactly that long. Each is
    made when the request first uses it: most requests use none or one."""

    db: Database
    workspace_id: UUID | None = None
    # A connection under the caller's scope and membership check, per use (see above).
    reader: Reader | None = None

    @cached_property
    def driver_by_vehicle(self) -> DataLoader[UUID, DriverRecord | None]:
        return DataLoader(self._reading(self._drivers_priming_users))

    @cached_property
    def user_by_id(self) -> DataLoader[UUID, UserRecord | None]:
        return DataLoader(self._reading(fleet.users_by_id))

    @cached_property
    def vehicle_by_id(self) -> DataLoader[UUID, Vehicle | None]:
        return DataLoader(self._scoped(fleet.vehicles_by_id))

    @cached_property
    def stops_by_route(self) -> DataLoader[UUID, list[RouteStop] | None]:
        return DataLoader(self._scoped(routing.stops_by_route))

    @cached_property
    def paths_by_route(self) -> DataLoader[UUID, list[RoutePath] | None]:
        return DataLoader(self._scoped(routing.paths_by_route))

    @cached_property
    def location_by_id(self) -> DataLoader[UUID, Location | None]:
        return DataLoader(self._scoped(routing.locations_by_id))

    @cached_property
    def current_route_by_vehicle(self) -> DataLoader[UUID, Route | None]:
        return DataLoader(self._scoped(routing.current_route_by_vehicle))

    @cached_property
    def units_by_incident(self) -> DataLoader[UUID, list[IncidentUnit] | None]:
        return DataLoader(self._scoped(operations.units_by_incident))

    @classmethod
    def for_request(cls, db: Database) -> DataLoaders:
        return cls(db=db)

    async def _drivers_priming_users(
        self, conn: asyncpg.Connection, keys: Sequence[UUID]
    ) -> list[DriverRecord | None]:
        """The drivers, their users loaded by the same statement into `user_by_id`."""
        drivers: list[DriverRecord | None] = []
        for pair in await fleet.drivers_with_users_by_vehicle(conn, keys):
            if pair is None:
                drivers.append(None)
                continue
            driver, user = pair
            self.user_by_id.prime(driver.user_id, user)
            drivers.append(driver)
        return drivers

    def _reading(
        self, batch: Callable[[asyncpg.Connection, Sequence[UUID]], Awaitable[list[R | None]]]
    ) -> Callable[[list[UUID]], Awaitable[list[R | None]]]:
        async def load(keys: list[UUID]) -> list[R | None]:
            if self.reader is None:
                raise RuntimeError("these loaders read as the caller: set `reader` first")
            async with self.reader() as conn:
                return await batch(conn, keys)

        return load

    def _scoped(
        self, batch: Callable[[AsyncSession, Sequence[UUID]], Awaitable[list[R | None]]]
    ) -> Callable[[list[UUID]], Awaitable[list[R | None]]]:
        async def load(keys: list[UUID]) -> list[R | None]:
            async with self.db.session(self.workspace_id) as session:
                return await batch(session, keys)

        return load
