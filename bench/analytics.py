"""Analytics reports over HTTP on large read models, the full rebuild, and the fold's rate.

    .venv/bin/python bench/analytics.py                          # 3 workspaces x 20,000 events
    .venv/bin/python bench/analytics.py --events 1000000 --iterations 200 --json

Works in its own database (default omniroute_bench_analytics: recreated from the PostGIS
template and migrated on every run) and its own Redis database (default 8, flushed at start;
--redis-db to change). For each of --workspaces workspaces (registered through the API) it
writes --events synthetic events spread over 90 days into `analytics_events` (routes created,
optimized, deployed and completed with their figures, vehicles' status changes, sampled GPS
fixes, incidents reached, quantum jobs), then:
- rebuild: `services.analytics.rebuild.rebuild_read_models` folds them all into the read
  models (the command `python -m tasks.analytics_rebuild` runs the same), timed: the full
  rebuild time and the fold's rate in events/s, which bounds the consumer's steady rate;
- reports: each report for the last 30 days, --iterations sequential GETs per report and
  workspace after a warm-up, p50/p99 in ms over HTTP (one uvicorn process);
- the same routes and efficiency totals computed straight from the event log
  (`analytics_events`, the only other source of these figures in this database), timed in
  the same run: the ratio shows what the read models save.
Everything runs on one machine: API, PostgreSQL and this script share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from _common import (  # noqa: E402
    owner_url,
    percentile,
    prepare_database,
    redis_db_url,
    served_api,
    timed_calls,
)
from redis.asyncio import Redis  # noqa: E402

REPORTS = ("routes", "fleet", "efficiency", "quantum")
DAYS = 90
VEHICLES = 200
CENTRE = (77.5946, 12.9716)

# The routes report's totals, straight from the event log (what a report without read
# models would have to scan).
ROUTES_FROM_EVENTS = """
    SELECT count(DISTINCT payload->>'route_id') AS routes,
        sum((payload->>'planned_distance_m')::float) AS planned_distance_m,
        sum((payload->>'actual_duration_s')::float) AS actual_duration_s,
        sum((payload->>'stops_on_time')::int) AS stops_on_time
    FROM analytics_events
    WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
      AND event_type IN ('route.created', 'route.completed')
"""
EFFICIENCY_FROM_EVENTS = """
    SELECT count(*) AS optimizations, sum((payload->>'distance_m')::float) AS distance_m,
        sum((payload->>'submitted_distance_m')::float - (payload->>'distance_m')::float)
            AS saved_vs_submitted_m,
        count(*) FILTER (WHERE (payload->>'cached')::boolean) AS cache_hits
    FROM analytics_events
    WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
      AND event_type = 'route.optimized'
"""


def synthetic_events(workspace_id: uuid.UUID, count: int, *, seed: int) -> list[tuple[Any, ...]]:
    """About `count` events of a fleet's 90 days, as `analytics_events` rows."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    start = now - timedelta(days=DAYS)
    vehicles = [str(uuid.uuid4()) for _ in range(VEHICLES)]
    rows: list[tuple[Any, ...]] = []

    def add(at: datetime, topic: str, data: dict[str, Any]) -> None:
        rows.append((uuid.uuid4(), at, workspace_id, topic, "bench", orjson.dumps(data).decode()))

    for vehicle in vehicles:
        add(
            start,
            "vehicle.created",
            {
                "vehicle_id": vehicle,
                "vehicle_type": rng.choice(["van", "truck", "ambulance"]),
                "status": "available",
            },
        )
    per_route = 18  # created, optimized, deployed, 2 status changes, 10 fixes, completed...
    routes = max(1, (count - len(rows)) // per_route)
    for n in range(routes):
        at = start + timedelta(seconds=rng.uniform(0, DAYS * 86_400 - 6 * 3600))
        vehicle, route = rng.choice(vehicles), str(uuid.uuid4())
        distance = rng.uniform(5_000, 80_000)
        add(at, "route.created", {"route_id": route, "vehicle_id": vehicle})
        add(
            at + timedelta(seconds=30),
            "route.optimized",
            {
                "route_id": route,
                "vehicle_id": vehicle,
                "distance_m": distance,
                "duration_s": distance / 10,
                "submitted_distance_m": distance * rng.uniform(1, 1.4),
                "previous_distance_m": None,
                "optimization_score": rng.uniform(0, 30),
                "solver": rng.choice(["pyvrp", "ortools", "nearest"]),
                "solve_time_ms": rng.uniform(20, 2_000),
                "cached": rng.random() < 0.2,
                "stops": 10,
            },
        )
        deployed = at + timedelta(minutes=10)
        add(deployed, "route.deployed", {"route_id": route, "vehicle_id": vehicle})
        add(deployed, "vehicle.status_changed", {"vehicle_id": vehicle, "to": "in_transit"})
        lng, lat = CENTRE
        for i in range(10):
            lng, lat = lng + rng.uniform(-0.01, 0.01), lat + rng.uniform(-0.01, 0.01)
            fix = deployed + timedelta(minutes=6 * (i + 1))
            add(
                fix,
                "vehicle.position_updated",
                {
                    "vehicle_id": vehicle,
                    "position": [lng, lat],
                    "recorded_at": fix.isoformat().replace("+00:00", "Z"),
                },
            )
        done = deployed + timedelta(minutes=70)
        add(
            done,
            "route.completed",
            {
                "route_id": route,
                "vehicle_id": vehicle,
                "actual_duration_s": 4200,
                "planned_distance_m": distance,
                "planned_duration_s": distance / 10,
                "stops": 10,
                "stops_served": 10,
                "stops_on_time": rng.randint(6, 10),
            },
        )
        add(done, "vehicle.status_changed", {"vehicle_id": vehicle, "to": "available"})
        if n % 10 == 0:
            add(
                done,
                "incident.unit_on_scene",
                {
                    "incident_id": str(uuid.uuid4()),
                    "vehicle_id": vehicle,
                    "first": True,
                    "response_time_s": rng.uniform(120, 1_200),
                    "travel_time_s": rng.uniform(60, 900),
                },
            )
        if n % 20 == 0:
            classical = rng.uniform(50, 100)
            add(
                done,
                "quantum.job_completed",
                {
                    "job_id": str(uuid.uuid4()),
                    "status": "completed",
                    "mode": rng.choice(["hybrid", "quantum"]),
                    "backend": "aer_simulator",
                    "circuits": 2,
                    "classical_cost": classical,
                    "final_cost": classical - rng.choice([0, 0, rng.uniform(0, 5)]),
                    "qubits": rng.randint(4, 16),
                    "depth": rng.randint(10, 80),
                    "energy": -rng.uniform(0, 10),
                    "gap_to_exact": rng.choice([0.0, rng.uniform(0, 3)]),
                    "fell_back": rng.random() < 0.1,
                    "timed_out": rng.random() < 0.05,
                    "time_ms": rng.uniform(500, 5_000),
                },
            )
    rows.sort(key=lambda r: r[1])
    return rows


async def store(database: str, workspace_id: uuid.UUID, rows: list[tuple[Any, ...]]) -> None:
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace_id)
            )
            # COPY is refused under row-level security.
            await conn.executemany(
                "INSERT INTO analytics_events (id, created_at, workspace_id, event_type,"
                " entity_type, payload) VALUES ($1, $2, $3, $4, $5, $6::jsonb)",
                rows,
            )
    finally:
        await conn.close()


async def from_events(
    database: str, workspace_id: uuid.UUID, iterations: int
) -> dict[str, dict[str, float]]:
    """The routes and efficiency totals computed from the event log, timed."""
    conn = await asyncpg.connect(owner_url(database))
    to = datetime.now(UTC)
    since = to - timedelta(days=30)
    out = {}
    try:
        for name, sql in (("routes", ROUTES_FROM_EVENTS), ("efficiency", EFFICIENCY_FROM_EVENTS)):

            async def call(_: int, sql: str = sql) -> Any:
                async with conn.transaction():
                    await conn.execute(
                        "SELECT set_config('app.current_workspace_id', $1, true)",
                        str(workspace_id),
                    )
                    return await conn.fetchrow(sql, workspace_id, since, to)

            timings, _ = await timed_calls(call, warmup=3, iterations=iterations)
            out[name] = {"p50_ms": percentile(timings, 0.5), "p99_ms": percentile(timings, 0.99)}
    finally:
        await conn.close()
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    from core.db import Database, create_engine
    from core.events import InMemoryBus
    from core.settings import Settings
    from services.analytics.rebuild import rebuild_read_models

    await prepare_database(args.database)
    redis_url = redis_db_url(args.redis_db)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    report: dict[str, Any] = {"workspaces": args.workspaces, "events_per_workspace": args.events}
    async with served_api(args.database, redis_url) as client:
        admins = []
        for i in range(args.workspaces):
            response = await client.post(
                "/api/v1/auth/register",
                json={
                    "email": f"bench-{i}-{uuid.uuid4().hex[:6]}@example.com",
                    "password": "Bench-analytics-1!",
                    "full_name": "Bench",
                    "organization_name": f"Bench {i}",
                    "workspace_name": "Main",
                },
            )
            data = response.json()["data"]
            admins.append((uuid.UUID(data["workspace"]["id"]), data["access_token"]))
        started = time.perf_counter()
        for i, (workspace_id, _) in enumerate(admins):
            rows = synthetic_events(workspace_id, args.events, seed=i)
            await store(args.database, workspace_id, rows)
        report["write_events_s"] = round(time.perf_counter() - started, 1)

        settings = Settings(database_url=owner_url(args.database), redis_url=redis_url)
        db = Database(create_engine(settings), InMemoryBus())
        rebuilds = []
        try:
            for workspace_id, _ in admins:
                started = time.perf_counter()
                replayed = await rebuild_read_models(db=db, workspace_id=workspace_id)
                elapsed = time.perf_counter() - started
                rebuilds.append(
                    {
                        "events": replayed,
                        "seconds": round(elapsed, 1),
                        "events_per_s": round(replayed / elapsed),
                    }
                )
        finally:
            await db.dispose()
        report["rebuild"] = rebuilds

        timings: dict[str, list[float]] = {name: [] for name in REPORTS}
        for _, token in admins:
            headers = {"authorization": f"Bearer {token}"}
            for name in REPORTS:

                async def call(_: int, name: str = name, headers: dict = headers) -> httpx.Response:
                    response = await client.get(f"/api/v1/analytics/{name}", headers=headers)
                    assert response.status_code == 200, response.text
                    return response

                measured, _ = await timed_calls(call, warmup=5, iterations=args.iterations)
                timings[name] += measured
        report["reports_ms"] = {
            name: {
                "p50": round(percentile(sorted(t), 0.5), 1),
                "p99": round(percentile(sorted(t), 0.99), 1),
            }
            for name, t in timings.items()
        }
        direct = await from_events(args.database, admins[0][0], args.iterations)
        report["from_event_log_ms"] = {
            name: {k: round(v, 1) for k, v in figures.items()} for name, figures in direct.items()
        }
        report["event_log_over_read_model_p50"] = {
            name: round(direct[name]["p50_ms"] / report["reports_ms"][name]["p50"], 1)
            for name in direct
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omniroute_bench_analytics")
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--workspaces", type=int, default=3)
    parser.add_argument("--events", type=int, default=20_000, help="per workspace")
    parser.add_argument("--iterations", type=int, default=100, help="GETs per report/workspace")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
