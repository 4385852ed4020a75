"""Routes: drafts with their stops, the status machine, deploy and complete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from geoalchemy2 import Geometry
from geoalchemy2.shape import to_shape
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Conflict, Forbidden, NotFound
from core.pagination import CursorRequest, Page, PageRequest
from core.principal import Principal
from models import Driver, Location, Route, RoutePath, RouteStop, Vehicle
from models.enums import RouteStatus, UserRole, VehicleStatus
from models.routing_inputs import RouteCreate, RouteUpdate, StopInput
from services.audit import diff
from services.changes import record_change
from services.events import emit
from services.listing import paginate

# A stop without a window counts as on time when reached within this of its ETA.
ON_TIME_TOLERANCE_S = 900

FINAL = {RouteStatus.COMPLETED, RouteStatus.CANCELLED}
TRANSITIONS: dict[RouteStatus, set[RouteStatus]] = {
    RouteStatus.DRAFT: {RouteStatus.OPTIMIZING, RouteStatus.CANCELLED},
    RouteStatus.OPTIMIZING: {RouteStatus.OPTIMIZED, RouteStatus.DRAFT, RouteStatus.CANCELLED},
    RouteStatus.OPTIMIZED: {RouteStatus.OPTIMIZING, RouteStatus.DEPLOYED, RouteStatus.CANCELLED},
    RouteStatus.DEPLOYED: {RouteStatus.IN_PROGRESS, RouteStatus.COMPLETED, RouteStatus.CANCELLED},
    RouteStatus.IN_PROGRESS: {RouteStatus.COMPLETED, RouteStatus.CANCELLED},
    RouteStatus.COMPLETED: set(),
    RouteStatus.CANCELLED: set(),
}


@dataclass(frozen=True, slots=True)
class RouteFilter:
    status: RouteStatus | None = None
    vehicle_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


@dataclass(slots=True)
class StopView:
    """A stop as the API shows it: its own columns plus its location's name and point.

    Not frozen, though nothing changes one: a frozen dataclass sets each field through
    `object.__setattr__`, eight times slower to build, and a 200-stop plan builds 400."""

    id: UUID
    stop_order: int
    location_id: UUID
    location_name: str
    lng: float
    lat: float
    load_kg: float | None
    service_time_minutes: int | None
    time_window_start: datetime | None
    time_window_end: datetime | None
    arrival_eta: datetime | None
    departure_eta: datetime | None
    completed: bool
    notes: str | None

    def planned(
        self, stop_order: int, arrival_eta: datetime | None, departure_eta: datetime | None
    ) -> StopView:
        """This stop at another place in the route, with other ETAs. Built field by field:
        `dataclasses.replace` inspects the fields on every call (a 200-stop reply)."""
        return StopView(
            self.id,
            stop_order,
            self.location_id,
            self.location_name,
            self.lng,
            self.lat,
            self.load_kg,
            self.service_time_minutes,
            self.time_window_start,
            self.time_window_end,
            arrival_eta,
            departure_eta,
            self.completed,
            self.notes,
        )


@dataclass(frozen=True, slots=True)
class PathLeg:
    segment_index: int
    coordinates: list[tuple[float, float]]  # (lng, lat)


@dataclass(frozen=True, slots=True)
class RouteDetail:
    route: Route
    stops: list[StopView]
    paths: list[PathLeg]


def lng_lat(column: Any) -> tuple[Any, Any]:
    # The stored doubles themselves, without a WKB round trip through shapely.
    point = sa.cast(column, Geometry)
    return sa.func.ST_X(point, type_=sa.Float), sa.func.ST_Y(point, type_=sa.Float)


STOP_VIEW_COLUMNS: tuple[Any, ...] = (
    col(RouteStop.id),
    col(RouteStop.stop_order),
    col(RouteStop.location_id),
    col(Location.name).label("location_name"),
    *lng_lat(col(Location.geo)),
    col(RouteStop.load_kg),
    col(RouteStop.service_time_minutes),
    col(RouteStop.time_window_start),
    col(RouteStop.time_window_end),
    col(RouteStop.arrival_eta),
    col(RouteStop.departure_eta),
    col(RouteStop.completed),
    col(RouteStop.notes),
)
STOP_VIEW_WIDTH = len(STOP_VIEW_COLUMNS)
# A route's stops in order (parameter `route_id`), one `StopView` per row in the first
# `STOP_VIEW_WIDTH` columns; callers may add columns after those. Built once: SQLAlchemy
# then finds it in its statement cache without walking it again.
STOPS = (
    sa.select(*STOP_VIEW_COLUMNS)
    .select_from(RouteStop)
    .join(Location, col(Location.id) == col(RouteStop.location_id))
    .where(col(RouteStop.route_id) == sa.bindparam("route_id", type_=sa.Uuid))
    .order_by(col(RouteStop.stop_order))
)
PATH_LEGS = (
    sa.select(col(RoutePath.segment_index), col(RoutePath.path))
    .where(col(RoutePath.route_id) == sa.bindparam("route_id", type_=sa.Uuid))
    .order_by(col(RoutePath.segment_index))
)


def stop_view(row: Any) -> StopView:
    return StopView(*row[:STOP_VIEW_WIDTH])


def move(route: Route, to: RouteStatus) -> None:
    """Apply a status transition of the machine, or answer 409 CONFLICT."""
    if to not in TRANSITIONS[route.status]:
        raise Conflict(
            f"A {route.status.value} route cannot become {to.value}",
            details={"status": route.status.value, "requested": to.value},
        )
    route.status = to
    route.updated_at = datetime.now(UTC)


async def get_route(
    *, session: AsyncSession, actor: Principal, route_id: UUID, lock: bool = False
) -> Route:
    """A live route; `lock` holds its row until the transaction ends, so that concurrent
    changes of one route are applied one after the other and each sees the other's status."""
    route = await session.get(Route, route_id, with_for_update=lock or None)
    if route is None or route.deleted_at is not None:
        raise NotFound.resource("Route", route_id)
    return route


async def route_detail(*, session: AsyncSession, actor: Principal, route_id: UUID) -> RouteDetail:
    route = await get_route(session=session, actor=actor, route_id=route_id)
    stops = await session.execute(STOPS, {"route_id": route.id})
    paths = await session.execute(PATH_LEGS, {"route_id": route.id})
    return RouteDetail(
        route,
        [stop_view(row) for row in stops],
        [PathLeg(index, list(to_shape(path).coords)) for index, path in paths],
    )


async def _locations(session: AsyncSession, ids: set[UUID]) -> dict[UUID, Location]:
    rows = await session.exec(
        select(Location).where(col(Location.id).in_(ids), col(Location.deleted_at).is_(None))
    )
    found = {loc.id: loc for loc in rows}
    missing = ids - found.keys()
    if missing:
        raise NotFound.resource("Location", sorted(missing, key=str)[0])
    return found


async def _check_refs(
    session: AsyncSession, vehicle_id: UUID | None, depot_id: UUID | None, stops: list[StopInput]
) -> None:
    if vehicle_id is not None:
        vehicle = await session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.deleted_at is not None:
            raise NotFound.resource("Vehicle", vehicle_id)
    ids = {s.location_id for s in stops}
    if depot_id is not None:
        ids.add(depot_id)
    await _locations(session, ids)


def _stop_rows(actor: Principal, route_id: UUID, stops: list[StopInput]) -> list[RouteStop]:
    return [
        RouteStop(
            workspace_id=actor.workspace_id,
            route_id=route_id,
            location_id=stop.location_id,
            stop_order=order,
            load_kg=stop.load_kg,
            service_time_minutes=stop.service_time_minutes,
            time_window_start=stop.time_window_start,
            time_window_end=stop.time_window_end,
            notes=stop.notes,
        )
        for order, stop in enumerate(stops, start=1)
    ]


def _snapshot(route: Route, stops: int | None = None) -> dict[str, Any]:
    state: dict[str, Any] = {
        "name": route.name,
        "vehicle_id": str(route.vehicle_id) if route.vehicle_id else None,
        "depot_location_id": str(route.depot_location_id) if route.depot_location_id else None,
        "optimization_mode": str(route.optimization_mode),
        "status": str(route.status),
        "planned_start": route.planned_start.isoformat() if route.planned_start else None,
        "constraints": route.constraints,
    }
    if stops is not None:
        state["stops"] = stops
    return state


async def create_route(*, session: AsyncSession, actor: Principal, data: RouteCreate) -> Route:
    """A draft route with its stops in the order given."""
    await _check_refs(session, data.vehicle_id, data.depot_location_id, data.stops)
    route = Route(
        workspace_id=actor.workspace_id,
        name=data.name,
        vehicle_id=data.vehicle_id,
        depot_location_id=data.depot_location_id,
        optimization_mode=data.optimization_mode,
        planned_start=data.planned_start,
        constraints=data.constraints.model_dump(mode="json"),
        created_by=actor.user_id,
    )
    session.add(route)
    await session.flush()
    session.add_all(_stop_rows(actor, route.id, data.stops))
    await session.flush()
    state = _snapshot(route, stops=len(data.stops))
    await record_change(
        session=session,
        actor=actor,
        action="route.created",
        resource_type="route",
        resource_id=route.id,
        changes=state,
    )
    await session.refresh(route)
    return route


async def update_route(
    *, session: AsyncSession, actor: Principal, route_id: UUID, data: RouteUpdate
) -> Route:
    """Change a draft; anything past draft is 409 CONFLICT."""
    route = await get_route(session=session, actor=actor, route_id=route_id, lock=True)
    if route.status != RouteStatus.DRAFT:
        raise Conflict(
            f"Only a draft route can be edited; this one is {route.status.value}",
            details={"status": route.status.value},
        )
    fields = data.model_fields_set
    await _check_refs(
        session,
        data.vehicle_id if "vehicle_id" in fields else None,
        data.depot_location_id if "depot_location_id" in fields else None,
        data.stops or [],
    )
    before = _snapshot(route)
    for key in ("name", "vehicle_id", "depot_location_id", "planned_start"):
        if key in fields:
            setattr(route, key, getattr(data, key))
    if "optimization_mode" in fields and data.optimization_mode is not None:
        route.optimization_mode = data.optimization_mode
    if "constraints" in fields and data.constraints is not None:
        route.constraints = data.constraints.model_dump(mode="json")
    if data.stops is not None:
        await session.execute(sa.delete(RouteStop).where(col(RouteStop.route_id) == route.id))
        await session.flush()
        session.add_all(_stop_rows(actor, route.id, data.stops))
    route.updated_at = datetime.now(UTC)
    session.add(route)
    await session.flush()
    changes = diff(before, _snapshot(route))
    if data.stops is not None:
        changes["stops"] = len(data.stops)
    await record_change(
        session=session,
        actor=actor,
        action="route.updated",
        resource_type="route",
        resource_id=route.id,
        changes=changes,
        event={"changes": changes},
    )
    await session.refresh(route)
    return route


async def delete_route(*, session: AsyncSession, actor: Principal, route_id: UUID) -> None:
    route = await get_route(session=session, actor=actor, route_id=route_id, lock=True)
    if route.status in (RouteStatus.DEPLOYED, RouteStatus.IN_PROGRESS):
        raise Conflict("Cancel or complete a route on the road before deleting it")
    route.deleted_at = datetime.now(UTC)
    session.add(route)
    await record_change(
        session=session,
        actor=actor,
        action="route.deleted",
        resource_type="route",
        resource_id=route.id,
    )


async def list_routes(
    *,
    session: AsyncSession,
    actor: Principal,
    filters: RouteFilter,
    request: PageRequest | CursorRequest,
) -> Page[Route]:
    conditions: list[Any] = [
        col(Route.workspace_id) == actor.workspace_id,
        col(Route.deleted_at).is_(None),
    ]
    if filters.status is not None:
        conditions.append(col(Route.status) == filters.status)
    if filters.vehicle_id is not None:
        conditions.append(col(Route.vehicle_id) == filters.vehicle_id)
    if filters.created_from is not None:
        conditions.append(col(Route.created_at) >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(col(Route.created_at) < filters.created_to)
    return await paginate(session, Route, conditions, request)


async def _set_vehicle_status(
    session: AsyncSession, actor: Principal, vehicle_id: UUID | None, status: VehicleStatus
) -> None:
    if vehicle_id is None:
        return
    vehicle = await session.get(Vehicle, vehicle_id)
    if vehicle is not None and vehicle.deleted_at is None:
        before = vehicle.status
        vehicle.status = status
        vehicle.updated_at = datetime.now(UTC)
        session.add(vehicle)
        if before != status:
            # Fleet utilization is folded from these (time in each status per vehicle).
            emit(
                session=session,
                actor=actor,
                event_type="vehicle.status_changed",
                entity_type="vehicle",
                entity_id=vehicle.id,
                data={
                    "vehicle_id": vehicle.id,
                    "vehicle_type": vehicle.vehicle_type,
                    "from": str(before),
                    "to": str(status),
                },
            )


async def _stop_figures(session: AsyncSession, route_id: UUID) -> dict[str, int]:
    """How many stops the route had, were served, and were served on time: within the
    stop's window, or (without one) within ON_TIME_TOLERANCE_S of its ETA."""
    stops = (await session.exec(select(RouteStop).where(RouteStop.route_id == route_id))).all()
    tolerance = timedelta(seconds=ON_TIME_TOLERANCE_S)
    on_time = 0
    for stop in stops:
        arrived = stop.actual_arrival
        if arrived is None:
            continue
        if stop.time_window_end is not None:
            on_time += arrived <= stop.time_window_end
        elif stop.arrival_eta is not None:
            on_time += arrived <= stop.arrival_eta + tolerance
    return {
        "stops": len(stops),
        "stops_served": sum(1 for s in stops if s.actual_arrival is not None or s.completed),
        "stops_on_time": on_time,
    }


async def deploy_route(*, session: AsyncSession, actor: Principal, route_id: UUID) -> Route:
    """Hand an optimized route to its vehicle, which goes `in_transit`."""
    route = await get_route(session=session, actor=actor, route_id=route_id, lock=True)
    if route.vehicle_id is None and route.status == RouteStatus.OPTIMIZED:
        raise Conflict("Assign a vehicle before deploying", details={"field": "vehicle_id"})
    move(route, RouteStatus.DEPLOYED)
    route.started_at = route.started_at or datetime.now(UTC)
    session.add(route)
    await _set_vehicle_status(session, actor, route.vehicle_id, VehicleStatus.IN_TRANSIT)
    await record_change(
        session=session,
        actor=actor,
        action="route.deployed",
        resource_type="route",
        resource_id=route.id,
        changes={"vehicle_id": str(route.vehicle_id)},
    )
    await session.flush()
    await session.refresh(route)
    return route


async def complete_route(*, session: AsyncSession, actor: Principal, route_id: UUID) -> Route:
    """The driver of the route's vehicle marks it done; records how long it really took."""
    route = await get_route(session=session, actor=actor, route_id=route_id, lock=True)
    if actor.role == UserRole.DRIVER.value:
        assigned = (
            await session.exec(
                select(Driver.id).where(
                    Driver.user_id == actor.user_id, Driver.vehicle_id == route.vehicle_id
                )
            )
        ).first()
        if route.vehicle_id is None or assigned is None:
            raise Forbidden("Only the driver of this route's vehicle can complete it")
    move(route, RouteStatus.COMPLETED)
    now = datetime.now(UTC)
    route.completed_at = now
    if route.started_at is not None:
        route.actual_duration_minutes = max(0, round((now - route.started_at).total_seconds() / 60))
    session.add(route)
    await _set_vehicle_status(session, actor, route.vehicle_id, VehicleStatus.AVAILABLE)
    state = {"actual_duration_minutes": route.actual_duration_minutes}
    figures = {
        **state,
        "vehicle_id": route.vehicle_id,
        "started_at": route.started_at,
        "actual_duration_s": (
            round((now - route.started_at).total_seconds()) if route.started_at else None
        ),
        "planned_distance_m": (
            round(route.distance_km * 1000) if route.distance_km is not None else None
        ),
        "planned_duration_s": (
            route.estimated_duration_minutes * 60
            if route.estimated_duration_minutes is not None
            else None
        ),
        **await _stop_figures(session, route.id),
    }
    await record_change(
        session=session,
        actor=actor,
        action="route.completed",
        resource_type="route",
        resource_id=route.id,
        changes=state,
        event=figures,
    )
    await session.flush()
    await session.refresh(route)
    return route


async def cancel_route(*, session: AsyncSession, actor: Principal, route_id: UUID) -> Route:
    route = await get_route(session=session, actor=actor, route_id=route_id, lock=True)
    was_on_road = route.status in (RouteStatus.DEPLOYED, RouteStatus.IN_PROGRESS)
    move(route, RouteStatus.CANCELLED)
    session.add(route)
    if was_on_road:
        await _set_vehicle_status(session, actor, route.vehicle_id, VehicleStatus.AVAILABLE)
    await record_change(
        session=session,
        actor=actor,
        action="route.cancelled",
        resource_type="route",
        resource_id=route.id,
        # Only a route on the road gives its vehicle back (analytics folds the same).
        event={"was_on_road": was_on_road},
    )
    await session.flush()
    await session.refresh(route)
    return route
