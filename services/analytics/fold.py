"""Folding events into the analytics read models (models/analytics_reads.py).

The same fold serves the `analytics` consumer (each event once, by its receipt) and the
rebuild command (every stored event, in order), so both give the same tables. The consumer
reads each topic's stream on its own, so events of different topics may arrive out of
order: a route's status is the newest by event time, and a vehicle's status changes are
kept as facts whose gaps the fleet report measures."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.events import Event
from services.analytics.fleet_days import Changes, refold

EARTH_RADIUS_M = 6_371_008.8

Handler = Callable[[AsyncSession, Event], Awaitable[None]]


async def fold(session: AsyncSession, events: list[Event], *, fleet_days: bool = True) -> None:
    """Apply `events` (one workspace's, in the caller's tenant transaction) to the models;
    `fleet_days=False` leaves the fleet's per-day models to the caller (`fleet_days.fill`).

    GPS fixes, the most frequent events, are applied together after the others: a few
    statements for the whole batch instead of several per fix."""
    fixes: list[Event] = []
    changes = session.info[_CHANGES] = Changes()
    for event in sorted(events, key=lambda e: (e.timestamp, str(e.event_id))):
        if event.event_type == POSITION_TOPIC:
            fixes.append(event)
            continue
        handler = HANDLERS.get(event.event_type)
        if handler is not None:
            await handler(session, event)
    if fixes:
        await _positions(session, fixes)
    del session.info[_CHANGES]
    if fleet_days and events:
        await refold(session, events[0].workspace_id, changes)


# What the fold in progress changed (session.info), for the fleet's per-day models.
_CHANGES = "analytics_fleet_changes"


def _changes(session: AsyncSession) -> Changes:
    changes: Changes = session.info.setdefault(_CHANGES, Changes())
    return changes


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _uuid(value: Any) -> UUID | None:
    try:
        return UUID(str(value)) if value else None
    except ValueError:
        return None


def _when(value: Any, default: datetime) -> datetime:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return default
    return default


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def haversine_m(lng1: float, lat1: float, lng2: float, lat2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


# Routes ---------------------------------------------------------------------------------

_ROUTE_UPSERT = text(
    """
    INSERT INTO analytics_routes (workspace_id, route_id, day, vehicle_id, status, status_at)
    VALUES (:ws, :route_id, :day, :vehicle_id, :status, :at)
    ON CONFLICT (workspace_id, route_id) DO UPDATE
    SET status = CASE WHEN CAST(:sets_status AS boolean)
                           AND EXCLUDED.status_at >= analytics_routes.status_at
                      THEN EXCLUDED.status ELSE analytics_routes.status END,
        status_at = CASE WHEN CAST(:sets_status AS boolean)
                         THEN GREATEST(analytics_routes.status_at, EXCLUDED.status_at)
                         ELSE analytics_routes.status_at END,
        day = LEAST(analytics_routes.day, EXCLUDED.day),
        vehicle_id = COALESCE(EXCLUDED.vehicle_id, analytics_routes.vehicle_id)
    """
)


async def _route(
    session: AsyncSession, event: Event, status: str | None, vehicle_id: UUID | None = None
) -> UUID | None:
    route_id = _uuid(event.data.get("route_id"))
    if route_id is None:
        return None
    await session.execute(
        _ROUTE_UPSERT,
        {
            "ws": event.workspace_id,
            "route_id": route_id,
            "day": day_of(event.timestamp),
            "vehicle_id": vehicle_id or _uuid(event.data.get("vehicle_id")),
            "status": status or "draft",
            "sets_status": status is not None,
            "at": event.timestamp,
        },
    )
    return route_id


async def _route_created(session: AsyncSession, event: Event) -> None:
    await _route(session, event, "draft")


async def _route_updated(session: AsyncSession, event: Event) -> None:
    change = (event.data.get("vehicle_id") or {}) if isinstance(event.data, dict) else {}
    vehicle_id = _uuid(change.get("to")) if isinstance(change, dict) else None
    await _route(session, event, None, vehicle_id)


_OPTIMIZED = text(
    """
    UPDATE analytics_routes SET planned_distance_m = :distance_m,
        planned_duration_s = :duration_s, stops = COALESCE(:stops, stops)
    WHERE workspace_id = :ws AND route_id = :route_id
    """
)
_OPTIMIZATION = text(
    """
    INSERT INTO analytics_optimizations (workspace_id, event_id, day, route_id, solver,
        distance_m, duration_s, submitted_distance_m, submitted_duration_s,
        previous_distance_m, previous_duration_s, optimization_score, solve_time_ms, cached)
    VALUES (:ws, :event_id, :day, :route_id, :solver, :distance_m, :duration_s, :submitted,
        :submitted_s, :previous, :previous_s, :score, :solve_time_ms, :cached)
    ON CONFLICT DO NOTHING
    """
)


async def _route_optimized(session: AsyncSession, event: Event) -> None:
    data = event.data
    route_id = await _route(session, event, "optimized")
    distance = _number(data.get("distance_m"))
    if distance is None and _number(data.get("distance_km")) is not None:
        distance = float(data["distance_km"]) * 1000
    duration = _number(data.get("duration_s"))
    if duration is None and _number(data.get("estimated_duration_minutes")) is not None:
        duration = float(data["estimated_duration_minutes"]) * 60
    await session.execute(
        _OPTIMIZED,
        {
            "ws": event.workspace_id,
            "route_id": route_id,
            "distance_m": distance,
            "duration_s": duration,
            "stops": data.get("stops"),
        },
    )
    await session.execute(
        _OPTIMIZATION,
        {
            "ws": event.workspace_id,
            "event_id": event.event_id,
            "day": day_of(event.timestamp),
            "route_id": route_id,
            "solver": str(data.get("solver") or "unknown"),
            "distance_m": distance,
            "duration_s": duration,
            "submitted": _number(data.get("submitted_distance_m")),
            "submitted_s": _number(data.get("submitted_duration_s")),
            "previous": _number(data.get("previous_distance_m")),
            "previous_s": _number(data.get("previous_duration_s")),
            "score": _number(data.get("optimization_score")),
            "solve_time_ms": _number(data.get("solve_time_ms")),
            "cached": bool(data.get("cached")),
        },
    )


_DEPLOYED = text(
    "UPDATE analytics_routes SET deployed_at = :at"
    " WHERE workspace_id = :ws AND route_id = :route_id"
)


async def _route_deployed(session: AsyncSession, event: Event) -> None:
    route_id = await _route(session, event, "deployed")
    await session.execute(
        _DEPLOYED, {"ws": event.workspace_id, "route_id": route_id, "at": event.timestamp}
    )
    vehicle_id = _uuid(event.data.get("vehicle_id"))
    if vehicle_id is not None:
        await _status(session, event, vehicle_id, "in_transit")


_COMPLETED = text(
    """
    UPDATE analytics_routes SET
        planned_distance_m = COALESCE(planned_distance_m, :planned_distance_m),
        planned_duration_s = COALESCE(planned_duration_s, :planned_duration_s),
        actual_duration_s = :actual_duration_s, stops = COALESCE(:stops, stops),
        stops_served = :stops_served, stops_on_time = :stops_on_time, completed_at = :at
    WHERE workspace_id = :ws AND route_id = :route_id
    """
)


async def _route_completed(session: AsyncSession, event: Event) -> None:
    data = event.data
    route_id = await _route(session, event, "completed")
    actual = _number(data.get("actual_duration_s"))
    if actual is None and _number(data.get("actual_duration_minutes")) is not None:
        actual = float(data["actual_duration_minutes"]) * 60
    await session.execute(
        _COMPLETED,
        {
            "ws": event.workspace_id,
            "route_id": route_id,
            "planned_distance_m": _number(data.get("planned_distance_m")),
            "planned_duration_s": _number(data.get("planned_duration_s")),
            "actual_duration_s": actual,
            "stops": data.get("stops"),
            "stops_served": data.get("stops_served"),
            "stops_on_time": data.get("stops_on_time"),
            "at": event.timestamp,
        },
    )
    await _leave_route(session, event, route_id)


async def _route_cancelled(session: AsyncSession, event: Event) -> None:
    route_id = await _route(session, event, "cancelled")
    await session.execute(
        text(
            "UPDATE analytics_routes SET completed_at = :at"
            " WHERE workspace_id = :ws AND route_id = :route_id AND deployed_at IS NOT NULL"
        ),
        {"ws": event.workspace_id, "route_id": route_id, "at": event.timestamp},
    )
    # A draft or planned route never had the vehicle: cancelling it frees nothing (events
    # from before `was_on_road` was carried are taken as on the road, as they were folded).
    if event.data.get("was_on_road", True):
        await _leave_route(session, event, route_id)


async def _route_deleted(session: AsyncSession, event: Event) -> None:
    await _route(session, event, "deleted")


_ROUTE_VEHICLE = text(
    "SELECT vehicle_id FROM analytics_routes WHERE workspace_id = :ws AND route_id = :route_id"
)


async def _leave_route(session: AsyncSession, event: Event, route_id: UUID | None) -> None:
    """The route's vehicle is off it and (as the service does) available again."""
    if route_id is None:
        return
    vehicle_id = (
        await session.execute(_ROUTE_VEHICLE, {"ws": event.workspace_id, "route_id": route_id})
    ).scalar()
    if vehicle_id is not None:
        await _status(session, event, vehicle_id, "available")


_DEVIATION = text(
    "UPDATE analytics_routes SET deviations = deviations + 1"
    " WHERE workspace_id = :ws AND route_id = :route_id"
)


async def _route_deviated(session: AsyncSession, event: Event) -> None:
    # One deviation when it is raised; escalating or clearing it is the same deviation.
    if event.data.get("state") == "raised":
        route_id = _uuid(event.data.get("route_id"))
        await session.execute(_DEVIATION, {"ws": event.workspace_id, "route_id": route_id})


# Vehicles -------------------------------------------------------------------------------

_VEHICLE = text(
    """
    INSERT INTO analytics_vehicle_state (workspace_id, vehicle_id, vehicle_type)
    VALUES (:ws, :vehicle_id, :vehicle_type)
    ON CONFLICT (workspace_id, vehicle_id) DO UPDATE
    SET vehicle_type = COALESCE(EXCLUDED.vehicle_type, analytics_vehicle_state.vehicle_type)
    """
)
# The status fact, and what it changes in the vehicle's closed intervals cut into days:
# [at, next fact) now has this status instead of the previous fact's; without a next fact
# the previous fact's interval closes at `at`. Whole microseconds, so that any order of
# arrival sums to the same days. `reordered`: a fact arrived before a later one.
_STATUS = text(
    """
    WITH fact AS (
        INSERT INTO analytics_vehicle_status (workspace_id, vehicle_id, at, status)
        VALUES (:ws, :vehicle_id, :at, :status)
        ON CONFLICT DO NOTHING
        RETURNING at, status),
    prev AS (
        SELECT s.at, s.status FROM analytics_vehicle_status s
        WHERE s.workspace_id = :ws AND s.vehicle_id = :vehicle_id AND s.at < :at
        ORDER BY s.at DESC LIMIT 1),
    next AS (
        SELECT s.at FROM analytics_vehicle_status s
        WHERE s.workspace_id = :ws AND s.vehicle_id = :vehicle_id AND s.at > :at
        ORDER BY s.at LIMIT 1),
    changes AS (
        SELECT fact.status, fact.at AS s, next.at AS e, 1 AS sign FROM fact, next
        UNION ALL
        SELECT prev.status, fact.at, next.at, -1 FROM fact, prev, next
        UNION ALL
        SELECT prev.status, prev.at, fact.at, 1 FROM fact, prev
        WHERE NOT EXISTS (SELECT 1 FROM next)),
    pieces AS (
        SELECT status, d::date AS day,
            sign * (extract(epoch FROM least(e AT TIME ZONE 'UTC', d + interval '1 day')
                                       - greatest(s AT TIME ZONE 'UTC', d)) * 1000000)::bigint
                AS us
        FROM changes CROSS JOIN LATERAL generate_series(
            date_trunc('day', s AT TIME ZONE 'UTC'), e AT TIME ZONE 'UTC', interval '1 day') AS d),
    days AS (
        INSERT INTO analytics_vehicle_status_days AS t (workspace_id, vehicle_id, day,
            in_transit_us, available_us, offline_us, maintenance_us, other_us)
        SELECT :ws, :vehicle_id, day,
            coalesce(sum(us) FILTER (WHERE status = 'in_transit'), 0),
            coalesce(sum(us) FILTER (WHERE status = 'available'), 0),
            coalesce(sum(us) FILTER (WHERE status = 'offline'), 0),
            coalesce(sum(us) FILTER (WHERE status = 'maintenance'), 0),
            coalesce(sum(us) FILTER (WHERE status NOT IN
                ('in_transit', 'available', 'offline', 'maintenance')), 0)
        FROM pieces WHERE us <> 0 GROUP BY day
        ON CONFLICT (workspace_id, vehicle_id, day) DO UPDATE
        SET in_transit_us = t.in_transit_us + EXCLUDED.in_transit_us,
            available_us = t.available_us + EXCLUDED.available_us,
            offline_us = t.offline_us + EXCLUDED.offline_us,
            maintenance_us = t.maintenance_us + EXCLUDED.maintenance_us,
            other_us = t.other_us + EXCLUDED.other_us
        RETURNING day)
    SELECT EXISTS (SELECT 1 FROM fact, next) AS reordered, ARRAY(SELECT day FROM days) AS days
    """
)
# A day whose time moved to other days entirely is no day of the vehicle's.
_EMPTY_DAYS = text(
    """
    DELETE FROM analytics_vehicle_status_days
    WHERE workspace_id = :ws AND vehicle_id = :vehicle_id AND in_transit_us = 0
      AND available_us = 0 AND offline_us = 0 AND maintenance_us = 0 AND other_us = 0
    RETURNING day
    """
)


async def _status(
    session: AsyncSession,
    event: Event,
    vehicle_id: UUID,
    status: str,
    *,
    vehicle_type: str | None = None,
) -> None:
    """Record that the vehicle took `status` at the event's time."""
    params = {"ws": event.workspace_id, "vehicle_id": vehicle_id}
    await session.execute(_VEHICLE, {**params, "vehicle_type": vehicle_type})
    result = await session.execute(_STATUS, {**params, "at": event.timestamp, "status": status})
    reordered, days = result.one()
    changes = _changes(session)
    changes.facts.add(vehicle_id)
    changes.add_days(vehicle_id, days)
    if reordered:
        emptied = await session.execute(_EMPTY_DAYS, params)
        changes.add_days(vehicle_id, list(emptied.scalars()))


async def _vehicle_created(session: AsyncSession, event: Event) -> None:
    vehicle_id = _uuid(event.data.get("vehicle_id"))
    if vehicle_id is not None:
        status = str(event.data.get("status") or "available")
        vehicle_type = event.data.get("vehicle_type")
        await _status(session, event, vehicle_id, status, vehicle_type=vehicle_type)


async def _vehicle_updated(session: AsyncSession, event: Event) -> None:
    vehicle_id = _uuid(event.data.get("vehicle_id"))
    changes = event.data.get("changes") or {}
    status = (changes.get("status") or {}).get("to")
    vehicle_type = (changes.get("vehicle_type") or {}).get("to")
    if vehicle_id is None:
        return
    if status:
        await _status(session, event, vehicle_id, str(status), vehicle_type=vehicle_type)
    elif vehicle_type:
        await session.execute(
            _VEHICLE,
            {"ws": event.workspace_id, "vehicle_id": vehicle_id, "vehicle_type": vehicle_type},
        )
        _changes(session).vehicles.add(vehicle_id)


async def _vehicle_status_changed(session: AsyncSession, event: Event) -> None:
    vehicle_id = _uuid(event.data.get("vehicle_id"))
    if vehicle_id is not None and event.data.get("to"):
        await _status(
            session,
            event,
            vehicle_id,
            str(event.data["to"]),
            vehicle_type=event.data.get("vehicle_type"),
        )


async def _vehicle_deleted(session: AsyncSession, event: Event) -> None:
    vehicle_id = _uuid(event.data.get("vehicle_id"))
    if vehicle_id is not None:
        await _status(session, event, vehicle_id, "deleted")


POSITION_TOPIC = "vehicle.position_updated"
_LAST_FIXES = text(
    "SELECT vehicle_id, last_lng, last_lat, last_fix_at FROM analytics_vehicle_state"
    " WHERE workspace_id = :ws AND vehicle_id = ANY(CAST(:ids AS uuid[]))"
)
_FIXES = text(
    """
    INSERT INTO analytics_vehicle_state (workspace_id, vehicle_id, last_lng, last_lat, last_fix_at)
    SELECT :ws, v, lng, lat, at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:lngs AS float8[]), CAST(:lats AS float8[]),
                CAST(:ats AS timestamptz[])) AS f(v, lng, lat, at)
    ON CONFLICT (workspace_id, vehicle_id) DO UPDATE
    SET last_lng = EXCLUDED.last_lng, last_lat = EXCLUDED.last_lat,
        last_fix_at = EXCLUDED.last_fix_at
    """
)
_DAY_DISTANCES = text(
    """
    INSERT INTO analytics_vehicle_days (workspace_id, vehicle_id, day, distance_m)
    SELECT :ws, v, d, m
    FROM unnest(CAST(:ids AS uuid[]), CAST(:days AS date[]), CAST(:amounts AS float8[]))
        AS s(v, d, m)
    ON CONFLICT (workspace_id, vehicle_id, day) DO UPDATE
    SET distance_m = analytics_vehicle_days.distance_m + EXCLUDED.distance_m
    """
)
# Each stretch goes to the route its vehicle was on at the fix's time, by the route's
# deploy and end times.
_ROUTE_DISTANCES = text(
    """
    UPDATE analytics_routes r SET actual_distance_m = r.actual_distance_m + x.m
    FROM (
        SELECT on_route.route_id, sum(s.m) AS m
        FROM unnest(CAST(:ids AS uuid[]), CAST(:ats AS timestamptz[]),
                    CAST(:amounts AS float8[])) AS s(v, at, m)
        CROSS JOIN LATERAL (
            SELECT route_id FROM analytics_routes
            WHERE workspace_id = :ws AND vehicle_id = s.v AND deployed_at <= s.at
              AND (completed_at IS NULL OR completed_at >= s.at)
            ORDER BY deployed_at DESC LIMIT 1) AS on_route
        GROUP BY on_route.route_id) AS x
    WHERE r.workspace_id = :ws AND r.route_id = x.route_id
    """
)

Fix = tuple[datetime, float, float]


def _fix_of(event: Event) -> tuple[UUID, Fix] | None:
    vehicle_id = _uuid(event.data.get("vehicle_id"))
    position = event.data.get("position")
    if vehicle_id is None or not isinstance(position, list) or len(position) != 2:
        return None
    at = _when(event.data.get("recorded_at"), event.timestamp)
    return vehicle_id, (at, float(position[0]), float(position[1]))


async def _positions(session: AsyncSession, events: list[Event]) -> None:
    """GPS distance: the straight line between a vehicle's consecutive sampled fixes (one
    topic, so in order; a fix no newer than the last is ignored), counted on the later
    fix's day and on the route the vehicle was driving."""
    ws = events[0].workspace_id
    tracks: dict[UUID, list[Fix]] = {}
    for event in events:
        found = _fix_of(event)
        if found is not None:
            tracks.setdefault(found[0], []).append(found[1])
    if not tracks:
        return
    rows = await session.execute(_LAST_FIXES, {"ws": ws, "ids": list(tracks)})
    last: dict[UUID, Fix | None] = {
        row.vehicle_id: (row.last_fix_at, row.last_lng, row.last_lat)
        for row in rows
        if row.last_fix_at is not None
    }
    stretches: list[tuple[UUID, datetime, float]] = []
    for vehicle_id, fixes in tracks.items():
        previous = last.get(vehicle_id)
        for fix in sorted(fixes):
            if previous is not None and fix[0] <= previous[0]:
                continue
            if previous is not None:
                moved = haversine_m(previous[1], previous[2], fix[1], fix[2])
                if moved > 0:
                    stretches.append((vehicle_id, fix[0], moved))
            previous = fix
        last[vehicle_id] = previous
    if stretches:
        per_day: dict[tuple[UUID, date], float] = {}
        for vehicle_id, at, moved in stretches:
            key = (vehicle_id, day_of(at))
            per_day[key] = per_day.get(key, 0.0) + moved
        _changes(session).moved.update(per_day)
        await session.execute(
            _DAY_DISTANCES,
            {
                "ws": ws,
                "ids": [k[0] for k in per_day],
                "days": [k[1] for k in per_day],
                "amounts": list(per_day.values()),
            },
        )
        await session.execute(
            _ROUTE_DISTANCES,
            {
                "ws": ws,
                "ids": [s[0] for s in stretches],
                "ats": [s[1] for s in stretches],
                "amounts": [s[2] for s in stretches],
            },
        )
    latest = {v: fix for v, fix in last.items() if v in tracks and fix is not None}
    _changes(session).vehicles.update(latest)
    await session.execute(
        _FIXES,
        {
            "ws": ws,
            "ids": list(latest),
            "lngs": [f[1] for f in latest.values()],
            "lats": [f[2] for f in latest.values()],
            "ats": [f[0] for f in latest.values()],
        },
    )


# Incidents and quantum jobs -------------------------------------------------------------

_INCIDENT = text(
    """
    INSERT INTO analytics_incidents (workspace_id, incident_id, day, vehicle_id,
        response_time_s, travel_time_s)
    VALUES (:ws, :incident_id, :day, :vehicle_id, :response_time_s, :travel_time_s)
    ON CONFLICT DO NOTHING
    """
)


async def _unit_on_scene(session: AsyncSession, event: Event) -> None:
    data = event.data
    incident_id = _uuid(data.get("incident_id"))
    if incident_id is None or not data.get("first"):
        return
    await session.execute(
        _INCIDENT,
        {
            "ws": event.workspace_id,
            "incident_id": incident_id,
            "day": day_of(_when(data.get("on_scene_at"), event.timestamp)),
            "vehicle_id": _uuid(data.get("vehicle_id")),
            "response_time_s": _number(data.get("response_time_s")),
            "travel_time_s": _number(data.get("travel_time_s")),
        },
    )


_QUANTUM = text(
    """
    INSERT INTO analytics_quantum_jobs (workspace_id, job_id, day, mode, backend, status,
        outcome, circuits, qubits, depth, energy, classical_cost, final_cost, gap_to_exact,
        fell_back, timed_out, time_ms)
    VALUES (:ws, :job_id, :day, :mode, :backend, :status, :outcome, :circuits, :qubits,
        :depth, :energy, :classical_cost, :final_cost, :gap_to_exact, :fell_back, :timed_out,
        :time_ms)
    ON CONFLICT (workspace_id, job_id) DO UPDATE SET status = EXCLUDED.status,
        outcome = EXCLUDED.outcome, circuits = EXCLUDED.circuits, qubits = EXCLUDED.qubits,
        depth = EXCLUDED.depth, energy = EXCLUDED.energy,
        classical_cost = EXCLUDED.classical_cost, final_cost = EXCLUDED.final_cost,
        gap_to_exact = EXCLUDED.gap_to_exact, fell_back = EXCLUDED.fell_back,
        timed_out = EXCLUDED.timed_out, time_ms = EXCLUDED.time_ms
    """
)
# Costs closer than this are the same answer (floating-point noise).
COST_TOLERANCE = 1e-6


def outcome(classical: float | None, final: float | None) -> str | None:
    """How the quantum answer compares with the classical one on the same input."""
    if classical is None or final is None:
        return None
    if abs(final - classical) <= COST_TOLERANCE * max(1.0, abs(classical)):
        return "matched"
    return "improved" if final < classical else "lost"


async def _quantum_job(session: AsyncSession, event: Event) -> None:
    data = event.data
    job_id = _uuid(data.get("job_id"))
    if job_id is None:
        return
    classical, final = _number(data.get("classical_cost")), _number(data.get("final_cost"))
    status = str(data.get("status") or event.event_type.rsplit("_", 1)[-1])
    await session.execute(
        _QUANTUM,
        {
            "ws": event.workspace_id,
            "job_id": job_id,
            "day": day_of(event.timestamp),
            "mode": data.get("mode"),
            "backend": data.get("backend"),
            "status": status,
            "outcome": outcome(classical, final) if status == "completed" else None,
            "circuits": data.get("circuits"),
            "qubits": data.get("qubits"),
            "depth": data.get("depth"),
            "energy": _number(data.get("energy")),
            "classical_cost": classical,
            "final_cost": final,
            "gap_to_exact": _number(data.get("gap_to_exact")),
            "fell_back": bool(data.get("fell_back")),
            "timed_out": bool(data.get("timed_out")) or status == "timeout",
            "time_ms": _number(data.get("time_ms")),
        },
    )


HANDLERS: dict[str, Handler] = {
    "route.created": _route_created,
    "route.updated": _route_updated,
    "route.optimized": _route_optimized,
    "route.deployed": _route_deployed,
    "route.completed": _route_completed,
    "route.cancelled": _route_cancelled,
    "route.deleted": _route_deleted,
    "vehicle.route_deviated": _route_deviated,
    "vehicle.created": _vehicle_created,
    "vehicle.updated": _vehicle_updated,
    "vehicle.status_changed": _vehicle_status_changed,
    "vehicle.deleted": _vehicle_deleted,
    "incident.unit_on_scene": _unit_on_scene,
    "quantum.job_completed": _quantum_job,
    "quantum.job_failed": _quantum_job,
}
