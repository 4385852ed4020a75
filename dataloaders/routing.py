"""Routing loaders: a route's stops and path legs, locations, a vehicle's current route."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dataloaders.grouping import grouped
from models import Location, Route, RoutePath, RouteStop
from models.enums import RouteStatus

ON_THE_ROAD = (RouteStatus.DEPLOYED, RouteStatus.IN_PROGRESS)


async def stops_by_route(
    session: AsyncSession, keys: Sequence[UUID]
) -> list[list[RouteStop] | None]:
    rows = await session.exec(
        select(RouteStop)
        .where(col(RouteStop.route_id).in_(keys))
        .order_by(col(RouteStop.route_id), col(RouteStop.stop_order))
    )
    return grouped(rows, lambda row: row.route_id, keys)


async def paths_by_route(
    session: AsyncSession, keys: Sequence[UUID]
) -> list[list[RoutePath] | None]:
    rows = await session.exec(
        select(RoutePath)
        .where(col(RoutePath.route_id).in_(keys))
        .order_by(col(RoutePath.route_id), col(RoutePath.segment_index))
    )
    return grouped(rows, lambda row: row.route_id, keys)


async def locations_by_id(session: AsyncSession, keys: Sequence[UUID]) -> list[Location | None]:
    # Deleted locations still resolve: a past route keeps showing where it went.
    rows = await session.exec(select(Location).where(col(Location.id).in_(keys)))
    found = {loc.id: loc for loc in rows}
    return [found.get(k) for k in keys]


async def current_route_by_vehicle(
    session: AsyncSession, keys: Sequence[UUID]
) -> list[Route | None]:
    rows = await session.exec(
        select(Route)
        .where(
            col(Route.vehicle_id).in_(keys),
            col(Route.status).in_(ON_THE_ROAD),
            col(Route.deleted_at).is_(None),
        )
        .order_by(col(Route.created_at))
    )
    found = {route.vehicle_id: route for route in rows}
    return [found.get(k) for k in keys]
