"""A known event history for the analytics tests: vehicles, routes, GPS fixes, incidents
and quantum jobs, with the figures a direct computation expects from it."""

from __future__ import annotations

import itertools
import math
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from core.events import Event

HOUR = 3600
DAY = 24 * HOUR
FIXES = [(77.5946, 12.9716), (77.6046, 12.9716), (77.6046, 12.9816)]


def haversine_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    p1, p2 = math.radians(a[1]), math.radians(b[1])
    dp, dl = p2 - p1, math.radians(b[0] - a[0])
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6_371_008.8 * math.asin(math.sqrt(h))


GPS_M = haversine_m(FIXES[0], FIXES[1]) + haversine_m(FIXES[1], FIXES[2])


def submitted_order_seconds(
    depot: tuple[float, float],
    stops: list[tuple[float, float]],
    *,
    detour: float,
    speed_kmh: float,
    service_s: int,
) -> int:
    """Seconds from the depot through `stops` as listed and back, at `speed_kmh` over the
    great-circle distance times `detour` (whole seconds a leg), serving each stop."""
    path = [depot, *stops, depot]
    legs = (
        round(haversine_m(a, b) * detour / (speed_kmh / 3.6)) for a, b in itertools.pairwise(path)
    )
    return sum(legs) + service_s * len(stops)


@dataclass
class Seed:
    workspace_id: uuid.UUID
    base: datetime
    events: list[Event]
    vans: list[str]
    trucks: list[str]
    routes: list[str]


def seed_events(workspace_id: uuid.UUID) -> Seed:
    """Three vehicles (two vans, one truck), a completed and a cancelled route, three GPS
    fixes on the completed route, one deviation, two incidents reached and three quantum
    jobs, over three days ending two days ago."""
    base = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=5)
    v1, v2, v3 = (str(uuid.uuid4()) for _ in range(3))
    r1, r2 = str(uuid.uuid4()), str(uuid.uuid4())
    history: list[tuple[int, str, dict[str, Any]]] = [
        (0, "vehicle.created", {"vehicle_id": v1, "vehicle_type": "van", "status": "available"}),
        (0, "vehicle.created", {"vehicle_id": v2, "vehicle_type": "truck", "status": "available"}),
        (0, "vehicle.created", {"vehicle_id": v3, "vehicle_type": "van", "status": "available"}),
        (HOUR, "route.created", {"route_id": r1, "vehicle_id": v1}),
        (
            HOUR + 60,
            "route.optimized",
            {
                "route_id": r1,
                "vehicle_id": v1,
                "distance_m": 10_000,
                "duration_s": 3600,
                "submitted_distance_m": 12_000,
                "submitted_duration_s": 4_500,
                "previous_distance_m": None,
                "previous_duration_s": None,
                "optimization_score": 16.67,
                "solver": "pyvrp",
                "solve_time_ms": 200,
                "cached": False,
                "stops": 4,
            },
        ),
        (2 * HOUR, "route.deployed", {"route_id": r1, "vehicle_id": v1}),
        (2 * HOUR, "vehicle.status_changed", {"vehicle_id": v1, "to": "in_transit"}),
        *[
            (
                2 * HOUR + 600 * (i + 1),
                "vehicle.position_updated",
                {
                    "vehicle_id": v1,
                    "position": list(fix),
                    "recorded_at": (base + timedelta(seconds=2 * HOUR + 600 * (i + 1)))
                    .isoformat()
                    .replace("+00:00", "Z"),
                },
            )
            for i, fix in enumerate(FIXES)
        ],
        (
            2 * HOUR + 1500,
            "vehicle.route_deviated",
            {"vehicle_id": v1, "route_id": r1, "state": "raised"},
        ),
        (
            2 * HOUR + 1560,
            "vehicle.route_deviated",
            {"vehicle_id": v1, "route_id": r1, "state": "escalated"},
        ),
        (
            3 * HOUR,
            "route.completed",
            {
                "route_id": r1,
                "vehicle_id": v1,
                "actual_duration_s": 4000,
                "planned_distance_m": 10_000,
                "planned_duration_s": 3600,
                "stops": 4,
                "stops_served": 4,
                "stops_on_time": 3,
            },
        ),
        (3 * HOUR + 1, "vehicle.status_changed", {"vehicle_id": v1, "to": "available"}),
        (DAY + HOUR, "route.created", {"route_id": r2, "vehicle_id": v2}),
        (
            DAY + HOUR + 60,
            "route.optimized",
            {
                "route_id": r2,
                "vehicle_id": v2,
                "distance_m": 5_000,
                "duration_s": 1800,
                "submitted_distance_m": 5_000,
                "submitted_duration_s": 1_800,
                "previous_distance_m": 10_000,
                "previous_duration_s": 3_600,
                "optimization_score": 0.0,
                "solver": "ortools",
                "solve_time_ms": 50,
                "cached": True,
                "stops": 2,
            },
        ),
        (DAY + 2 * HOUR, "route.cancelled", {"route_id": r2}),
        (
            DAY + 3 * HOUR,
            "incident.unit_on_scene",
            {
                "incident_id": str(uuid.uuid4()),
                "vehicle_id": v2,
                "first": True,
                "response_time_s": 300,
                "travel_time_s": 200,
            },
        ),
        (
            DAY + 23 * HOUR,
            "vehicle.updated",
            {"vehicle_id": v2, "changes": {"status": {"from": "available", "to": "offline"}}},
        ),
        (2 * DAY + HOUR, "vehicle.status_changed", {"vehicle_id": v2, "to": "available"}),
        (
            2 * DAY + 2 * HOUR,
            "incident.unit_on_scene",
            {
                "incident_id": str(uuid.uuid4()),
                "vehicle_id": v1,
                "first": True,
                "response_time_s": 600,
                "travel_time_s": 400,
            },
        ),
        (
            2 * DAY + 3 * HOUR,
            "incident.unit_on_scene",
            {"incident_id": str(uuid.uuid4()), "vehicle_id": v1, "first": False},
        ),
        (
            HOUR,
            "quantum.job_completed",
            {
                "job_id": str(uuid.uuid4()),
                "status": "completed",
                "mode": "hybrid",
                "backend": "aer_simulator",
                "circuits": 2,
                "classical_cost": 100.0,
                "final_cost": 90.0,
                "qubits": 6,
                "depth": 20,
                "energy": -3.5,
                "gap_to_exact": 0.0,
                "fell_back": False,
                "timed_out": False,
                "time_ms": 1500,
            },
        ),
        (
            DAY,
            "quantum.job_completed",
            {
                "job_id": str(uuid.uuid4()),
                "status": "completed",
                "mode": "quantum",
                "backend": "aer_simulator",
                "circuits": 1,
                "classical_cost": 50.0,
                "final_cost": 50.0,
                "qubits": 10,
                "depth": 40,
                "energy": -1.0,
                "gap_to_exact": 2.0,
                "fell_back": True,
                "timed_out": True,
                "time_ms": 3000,
            },
        ),
        (
            2 * DAY,
            "quantum.job_failed",
            {
                "job_id": str(uuid.uuid4()),
                "status": "failed",
                "mode": "quantum",
                "backend": "aer_simulator",
                "time_ms": 100,
            },
        ),
    ]
    events = [
        Event(
            event_type=topic,
            workspace_id=workspace_id,
            actor_id=None,
            data=data,
            timestamp=base + timedelta(seconds=offset),
        )
        for offset, topic, data in history
    ]
    return Seed(workspace_id, base, events, [v1, v3], [v2], [r1, r2])


async def store_events(owner_conn: asyncpg.Connection, events: list[Event]) -> None:
    """Write `events` to `analytics_events` as `services.events.emit` does."""
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)",
            str(events[0].workspace_id),
        )
        await owner_conn.executemany(
            "INSERT INTO analytics_events (id, created_at, workspace_id, event_type,"
            " entity_type, payload) VALUES ($1, $2, $3, $4, 'test', $5::jsonb)",
            [
                (
                    e.event_id,
                    e.timestamp,
                    e.workspace_id,
                    e.event_type,
                    orjson.dumps(e.data).decode(),
                )
                for e in events
            ],
        )


async def stored_events(owner_conn: asyncpg.Connection, workspace_id: str) -> list[Event]:
    """The workspace's stored events (its registration's as well as the seed's), in order."""
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", workspace_id
        )
        rows = await owner_conn.fetch(
            "SELECT id, created_at, workspace_id, event_type, actor_id, payload::text AS payload"
            " FROM analytics_events WHERE workspace_id = $1 ORDER BY created_at, id",
            uuid.UUID(workspace_id),
        )
    return [
        Event(
            event_type=r["event_type"],
            workspace_id=r["workspace_id"],
            actor_id=r["actor_id"],
            data=orjson.loads(r["payload"]),
            event_id=r["id"],
            timestamp=r["created_at"],
        )
        for r in rows
    ]


READ_MODEL_TABLES = (
    "analytics_routes",
    "analytics_optimizations",
    "analytics_vehicle_state",
    "analytics_vehicle_status",
    "analytics_vehicle_status_days",
    "analytics_vehicle_days",
    "analytics_fleet_days",
    "analytics_vehicle_spans",
    "analytics_incidents",
    "analytics_quantum_jobs",
    "event_topic_counts",
)


async def read_models(conn: asyncpg.Connection, workspace_id: str) -> dict[str, list[Any]]:
    """Every read-model row the connection may see with `workspace_id` set, sorted."""
    out: dict[str, list[Any]] = {}
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        for table in READ_MODEL_TABLES:
            rows = await conn.fetch(f"SELECT * FROM {table}")
            out[table] = sorted((tuple(r.values()) for r in rows), key=repr)
    return out
