"""Planning beyond one route: a fleet plan from one depot, and re-planning a route that is
already on the road."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Conflict, NotFound, ValidationFailed
from core.principal import Principal
from models import Location, Route, RouteStop, Vehicle
from models.enums import OptimizationMode, RouteStatus
from models.geo import GeoPoint
from models.routing_inputs import FleetPlanRequest, default_time_limit
from services.audit import record_audit
from services.changes import record_change
from services.events import emit
from services.roads.travel import choose_travel, provider_for
from services.routing import problem as canon
from services.routing.paths import leg_lines, replace_path
from services.routing.routes import get_route
from solvers.matrix import MatrixProvider
from solvers.selector import solve_problem

REPLAN_TIME_LIMIT_S = 2.0


@dataclass(frozen=True, slots=True)
class FleetPlan:
    routes: list[Route]
    unassigned: list[dict[str, Any]]
    result: dict[str, Any]


@dataclass(frozen=True, slots=True)
class StopChange:
    route_stop_id: UUID
    location_id: UUID
    old_order: int
    new_order: int
    old_eta: datetime | None
    new_eta: datetime | None


@dataclass(frozen=True, slots=True)
class Replan:
    route: Route
    changes: list[StopChange]
    result: dict[str, Any]


def _solve(problem: dict[str, Any], time_limit: float, provider: MatrixProvider) -> dict[str, Any]:
    solver_problem, unreachable = canon.priced_problem(problem, provider)
    solution = solve_problem(solver_problem, time_limit=time_limit, seed=0, mode=problem["mode"])
    result = canon.canonical_result(solver_problem, solution, unreachable)
    result["travel"] = problem["travel"]
    return result


async def _priced(
    session: AsyncSession, actor: Principal, problem: dict[str, Any]
) -> tuple[dict[str, Any], MatrixProvider]:
    """The problem with its travel chosen (`choose_travel`), and the provider for it."""
    locations = [(problem["depot"]["id"], problem["depot"]["lng"], problem["depot"]["lat"])]
    if "start" in problem:
        locations.append(("vehicle", problem["start"]["lng"], problem["start"]["lat"]))
    locations += [(s["location_id"], s["lng"], s["lat"]) for s in problem["stops"]]
    types = sorted({v["type"] for v in problem["vehicles"]})
    problem["travel"] = await choose_travel(session, actor.workspace_id, locations, types)
    return problem, await provider_for(session, problem["travel"])


def _point(location: Location) -> GeoPoint:
    point = GeoPoint.of(location.geo)
    assert point is not None
    return point


async def _locations(session: AsyncSession, ids: set[UUID]) -> dict[UUID, Location]:
    rows = await session.exec(
        select(Location).where(col(Location.id).in_(ids), col(Location.deleted_at).is_(None))
    )
    found = {loc.id: loc for loc in rows}
    for location_id in ids - found.keys():
        raise NotFound.resource("Location", location_id)
    return found


async def plan_fleet(
    *, session: AsyncSession, actor: Principal, data: FleetPlanRequest
) -> FleetPlan:
    """Spread the stops over the vehicles: one draft route per vehicle used, its stops in
    the planned order with planned ETAs, and the stops no vehicle could take, with why."""
    vehicles = []
    for vehicle_id in data.vehicle_ids:
        vehicle = await session.get(Vehicle, vehicle_id)
        if vehicle is None or vehicle.deleted_at is not None:
            raise NotFound.resource("Vehicle", vehicle_id)
        vehicles.append(vehicle)
    locations = await _locations(
        session, {s.location_id for s in data.stops} | {data.depot_location_id}
    )
    origin = (data.planned_start or datetime.now(UTC)).replace(microsecond=0)
    constraints = data.constraints.model_dump(mode="json")
    depot = _point(locations[data.depot_location_id])
    problem = canon.canonical_problem(
        mode=OptimizationMode.CLASSICAL.value,
        optimize_for=constraints["optimize_for"],
        planned_start=origin,
        depot=(str(data.depot_location_id), depot.lng, depot.lat),
        vehicles=[
            canon.vehicle_spec(
                origin,
                constraints,
                vehicle_id=str(v.id),
                vehicle_type=v.vehicle_type,
                capacity_kg=float(v.capacity_kg),
                capacity_m3=v.capacity_volume_m3,
                max_range_km=v.max_range_km,
            )
            for v in vehicles
        ],
        stops=[
            canon.StopSpec(
                location_id=str(s.location_id),
                lng=_point(locations[s.location_id]).lng,
                lat=_point(locations[s.location_id]).lat,
                load_kg=s.load_kg,
                service_s=s.service_time_minutes * 60,
                window=canon.window_seconds(origin, s.time_window_start, s.time_window_end),
            )
            for s in data.stops
        ],
    )
    time_limit = data.time_limit_s or default_time_limit(len(data.stops))
    problem, provider = await _priced(session, actor, problem)
    result = await asyncio.to_thread(_solve, problem, time_limit, provider)
    types = {str(v.id): v.vehicle_type for v in vehicles}
    routes: list[Route] = []
    for number, planned in enumerate(result["routes"], start=1):
        route = Route(
            workspace_id=actor.workspace_id,
            name=f"{data.name or 'Fleet plan'} #{number}",
            vehicle_id=UUID(planned["vehicle_id"]),
            depot_location_id=data.depot_location_id,
            planned_start=origin,
            constraints=constraints,
            created_by=actor.user_id,
            distance_km=round(planned["distance_m"] / 1000, 3),
            estimated_duration_minutes=-(-(planned["arrival"] - planned["departure"]) // 60),
        )
        session.add(route)
        await session.flush()
        for order, visit in enumerate(planned["visits"], start=1):
            stop = data.stops[visit["stop"]]
            session.add(
                RouteStop(
                    workspace_id=actor.workspace_id,
                    route_id=route.id,
                    location_id=stop.location_id,
                    stop_order=order,
                    load_kg=stop.load_kg,
                    service_time_minutes=stop.service_time_minutes,
                    time_window_start=stop.time_window_start,
                    time_window_end=stop.time_window_end,
                    notes=stop.notes,
                    arrival_eta=canon.at(origin, visit["arrival"]),
                    departure_eta=canon.at(origin, visit["departure"]),
                )
            )
        points = [
            (problem["stops"][v["stop"]]["lng"], problem["stops"][v["stop"]]["lat"])
            for v in planned["visits"]
        ]
        path = [(depot.lng, depot.lat), *points, (depot.lng, depot.lat)]
        lines = await leg_lines(session, problem["travel"], path, [types[planned["vehicle_id"]]])
        await replace_path(session, route, path, lines)
        routes.append(route)
    await session.flush()
    unassigned = [
        {
            "location_id": str(data.stops[u["stop"]].location_id),
            "stop": u["stop"],
            "reason": u["reason"],
        }
        for u in result["unassigned"]
    ]
    summary = {
        "routes": [str(r.id) for r in routes],
        "unassigned": len(unassigned),
        "distance_km": round(result["distance_m"] / 1000, 3),
    }
    await record_audit(
        session=session,
        actor=actor,
        action="fleet.planned",
        resource_type="route",
        resource_id=None,
        changes=summary,
    )
    for route in routes:
        emit(
            session=session,
            actor=actor,
            event_type="route.created",
            entity_type="route",
            entity_id=route.id,
            data={"plan": True, "vehicle_id": str(route.vehicle_id)},
        )
    return FleetPlan(routes=routes, unassigned=unassigned, result=result)


async def reoptimize_route(*, session: AsyncSession, actor: Principal, route_id: UUID) -> Replan:
    """Re-plan the stops not yet served from the vehicle's last known position, now;
    completed stops keep their place. Returns what moved and how the ETAs changed."""
    route = await get_route(session=session, actor=actor, route_id=route_id)
    if route.status not in (RouteStatus.DEPLOYED, RouteStatus.IN_PROGRESS):
        raise Conflict(
            f"Only a route on the road can be re-planned; this one is {route.status.value}"
        )
    vehicle = await session.get(Vehicle, route.vehicle_id) if route.vehicle_id else None
    position = GeoPoint.of(vehicle.last_location) if vehicle else None
    if vehicle is None or position is None:
        raise ValidationFailed.field("vehicle_id", "the vehicle has no known position")
    rows = (
        await session.exec(
            select(RouteStop, Location)
            .join(Location, col(Location.id) == col(RouteStop.location_id))
            .where(RouteStop.route_id == route.id)
            .order_by(col(RouteStop.stop_order))
        )
    ).all()
    done = [stop for stop, _ in rows if stop.completed]
    remaining = [(stop, location) for stop, location in rows if not stop.completed]
    if not remaining:
        raise Conflict("Every stop of this route is already completed")
    depot_location = (
        await session.get(Location, route.depot_location_id) if route.depot_location_id else None
    )
    depot = GeoPoint.of(depot_location.geo) if depot_location else position
    assert depot is not None
    origin = datetime.now(UTC).replace(microsecond=0)
    constraints = dict(route.constraints or {})
    problem = canon.canonical_problem(
        mode=str(route.optimization_mode),
        optimize_for=str(constraints.get("optimize_for", "distance")),
        planned_start=origin,
        depot=(str(route.depot_location_id or "vehicle"), depot.lng, depot.lat),
        vehicles=[
            canon.vehicle_spec(
                origin,
                constraints,
                vehicle_id=str(vehicle.id),
                vehicle_type=vehicle.vehicle_type,
                capacity_kg=float(vehicle.capacity_kg) - sum(s.load_kg or 0 for s in done),
                capacity_m3=vehicle.capacity_volume_m3,
                max_range_km=None,
            )
        ],
        stops=[
            canon.StopSpec(
                location_id=str(location.id),
                lng=_point(location).lng,
                lat=_point(location).lat,
                load_kg=float(stop.load_kg or 0),
                service_s=int(stop.service_time_minutes or 0) * 60,
                window=canon.window_seconds(origin, stop.time_window_start, stop.time_window_end),
            )
            for stop, location in remaining
        ],
    )
    problem["start"] = {"lng": position.lng, "lat": position.lat}
    problem, provider = await _priced(session, actor, problem)
    result = await asyncio.to_thread(_solve, problem, REPLAN_TIME_LIMIT_S, provider)
    plan = result["routes"][0] if result["routes"] else {"visits": []}
    timing = {v["stop"]: v for v in plan["visits"]}
    order = [v["stop"] for v in plan["visits"]] + [u["stop"] for u in result["unassigned"]]
    before = {stop.id: (stop.stop_order, stop.arrival_eta) for stop, _ in remaining}
    await session.execute(
        sa.update(RouteStop)
        .where(col(RouteStop.route_id) == route.id, col(RouteStop.completed).is_(False))
        .values(stop_order=-col(RouteStop.stop_order))
    )
    changes: list[StopChange] = []
    for position_in_plan, index in enumerate(order, start=len(done) + 1):
        stop, location = remaining[index]
        visit = timing.get(index)
        stop.stop_order = position_in_plan
        stop.arrival_eta = canon.at(origin, visit["arrival"]) if visit else None
        stop.departure_eta = canon.at(origin, visit["departure"]) if visit else None
        session.add(stop)
        old_order, old_eta = before[stop.id]
        changes.append(
            StopChange(stop.id, location.id, old_order, position_in_plan, old_eta, stop.arrival_eta)
        )
    await session.flush()
    points = [
        (problem["stops"][i]["lng"], problem["stops"][i]["lat"]) for i in order if i in timing
    ]
    path = [(position.lng, position.lat), *points, (depot.lng, depot.lat)]
    lines = await leg_lines(session, problem["travel"], path, [vehicle.vehicle_type])
    await replace_path(session, route, path, lines)
    route.updated_at = datetime.now(UTC)
    session.add(route)
    moved = [c for c in changes if c.old_order != c.new_order]
    summary = {
        "moved": len(moved),
        "remaining": len(remaining),
        "unassigned": len(result["unassigned"]),
    }
    await record_change(
        session=session,
        actor=actor,
        action="route.reoptimized",
        resource_type="route",
        resource_id=route.id,
        changes=summary,
    )
    await session.flush()
    return Replan(route=route, changes=changes, result=result)
