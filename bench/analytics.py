"""Analytics at scale: the four reports over HTTP on read models folded from millions of
events, the same answers computed from the stored events, the full rebuild, and the
event-to-report lag under a steady event rate.

    .venv/bin/python bench/analytics.py                                 # 3 x 20,000 events
    .venv/bin/python bench/analytics.py --events 1000000 --lag-seconds 60 --json

Works in its own database (default omniroute_bench_analytics: recreated from the PostGIS
template and migrated on every run) and its own Redis database (default 8, flushed at start;
--redis-db to change). For each of --workspaces workspaces (registered through the API):

- generate: about --events events of a fleet's 90 days (vehicles created; routes created,
  optimized, deployed and completed with their figures; status changes; 10 GPS fixes a
  route; an incident reached every 10th route, a quantum job every 20th) written into
  `analytics_events` by one INSERT ... SELECT over generate_series in PostgreSQL;
- rebuild: the command `python -m tasks.analytics_rebuild` folds every workspace's events
  into the read models (the same fold as the `analytics` consumer) and vacuums them, timed,
  with its rate (--reuse skips generating and rebuilding: it measures the database a
  previous run left);
- reports: each report for the last 30 days, --iterations sequential GETs per report and
  workspace after a warm-up, p50/p99 in ms over HTTP (one uvicorn process);
- from events: the same totals computed by SQL straight from `analytics_events` (the
  stored event log: the only other source of these figures in this database, whose live
  tables stay empty) on a direct connection, timed in the same run; the ratio is their
  p99 over the report's (HTTP included on the report's side only).

Then, with --lag-seconds S: `python app.py` (its relay off), one relay process and one
`analytics` consumer process (`python -m tasks.events`), and bench/events.py's open-loop
load at --rate events/s (tracking batches and vehicle updates through the API) into a new
workspace of 1,000 vans, beside the read models above. Lag: from each event's envelope
timestamp (the committing transaction's) to the first poll (every 50 ms, PostgreSQL's
clock) that sees the `analytics` consumer's receipt of it committed, which commits in the
same transaction as the event's effect on the read models: when a report first counts it.
Each figure comes with the load average when it was taken; everything shares one machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from _common import (  # noqa: E402
    ROOT,
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
RANGE_DAYS = 30
# Events per generated route: created, optimized, deployed, completed, two status
# changes, ten fixes; an incident every 10th route and a quantum job every 20th.
PER_ROUTE = 16 + 1 / 10 + 1 / 20
POLL_S = 0.05
RECEIPT_MARGIN_S = 2.0

# $1 workspace, $2 start of the 90 days, $3 routes, $4 vehicles, $5 seconds routes start in.
GENERATE = """
WITH vehicles AS (
    SELECT n, md5($1::uuid::text || ':v:' || n)::uuid AS id,
        (ARRAY['van', 'truck', 'ambulance'])[1 + n % 3] AS kind
    FROM generate_series(0, $4 - 1) AS n),
routes AS (
    SELECT n, md5($1::uuid::text || ':r:' || n)::uuid AS route_id,
        md5($1::uuid::text || ':v:' || floor(random() * $4)::int)::uuid AS vehicle_id,
        $2::timestamptz + random() * ($5::float8 * interval '1 second') AS at,
        5000 + random() * 75000 AS distance, random() AS u
    FROM generate_series(0, $3 - 1) AS n),
events AS (
    SELECT $2::timestamptz AS at, 'vehicle.created' AS topic,
        jsonb_build_object('vehicle_id', id, 'vehicle_type', kind, 'status', 'available')
            AS payload
    FROM vehicles
    UNION ALL
    SELECT r.at + e.offset_s * interval '1 second', e.topic, e.payload
    FROM routes AS r CROSS JOIN LATERAL (VALUES
        (0, 'route.created',
            jsonb_build_object('route_id', r.route_id, 'vehicle_id', r.vehicle_id)),
        (30, 'route.optimized', jsonb_build_object(
            'route_id', r.route_id, 'vehicle_id', r.vehicle_id, 'distance_m', r.distance,
            'duration_s', r.distance / 10,
            'submitted_distance_m', r.distance * (1 + 0.4 * r.u),
            'submitted_duration_s', r.distance / 10 * (1 + 0.3 * r.u),
            'previous_distance_m', NULL, 'previous_duration_s', NULL,
            'optimization_score', 30 * r.u,
            'solver', (ARRAY['pyvrp', 'ortools', 'nearest'])[1 + r.n % 3],
            'solve_time_ms', 20 + 1980 * random(), 'cached', random() < 0.2, 'stops', 10)),
        (600, 'route.deployed',
            jsonb_build_object('route_id', r.route_id, 'vehicle_id', r.vehicle_id)),
        (600, 'vehicle.status_changed',
            jsonb_build_object('vehicle_id', r.vehicle_id, 'to', 'in_transit')),
        (4800, 'route.completed', jsonb_build_object(
            'route_id', r.route_id, 'vehicle_id', r.vehicle_id, 'actual_duration_s', 4200,
            'planned_distance_m', r.distance, 'planned_duration_s', r.distance / 10,
            'stops', 10, 'stops_served', 10, 'stops_on_time', 6 + floor(random() * 5)::int)),
        (4800, 'vehicle.status_changed',
            jsonb_build_object('vehicle_id', r.vehicle_id, 'to', 'available'))
    ) AS e(offset_s, topic, payload)
    UNION ALL
    SELECT f.at, 'vehicle.position_updated', jsonb_build_object(
        'vehicle_id', f.vehicle_id,
        'position', jsonb_build_array(77.5946 + (random() - 0.5) * 0.02,
                                      12.9716 + (random() - 0.5) * 0.02),
        'recorded_at', to_char(f.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
    FROM (SELECT r.vehicle_id, r.at + (600 + 360 * i) * interval '1 second' AS at
          FROM routes AS r CROSS JOIN generate_series(1, 10) AS i) AS f
    UNION ALL
    SELECT r.at + interval '4800 seconds', 'incident.unit_on_scene', jsonb_build_object(
        'incident_id', md5($1::uuid::text || ':i:' || r.n)::uuid, 'vehicle_id', r.vehicle_id,
        'first', true, 'response_time_s', 120 + 1080 * random(),
        'travel_time_s', 60 + 840 * random())
    FROM routes AS r WHERE r.n % 10 = 0
    UNION ALL
    SELECT r.at + interval '4800 seconds', 'quantum.job_completed', jsonb_build_object(
        'job_id', md5($1::uuid::text || ':q:' || r.n)::uuid, 'status', 'completed',
        'mode', (ARRAY['hybrid', 'quantum'])[1 + (r.n / 20) % 2], 'backend', 'aer_simulator',
        'circuits', 2, 'classical_cost', 50 + 50 * r.u,
        'final_cost', 50 + 50 * r.u - CASE WHEN random() < 0.3 THEN 5 * random() ELSE 0 END,
        'qubits', 4 + floor(random() * 13)::int, 'depth', 10 + floor(random() * 71)::int,
        'energy', -10 * random(),
        'gap_to_exact', CASE WHEN random() < 0.5 THEN 0 ELSE 3 * random() END,
        'fell_back', random() < 0.1, 'timed_out', random() < 0.05,
        'time_ms', 500 + 4500 * random())
    FROM routes AS r WHERE r.n % 20 = 0)
INSERT INTO analytics_events (id, created_at, workspace_id, event_type, entity_type, payload)
SELECT gen_random_uuid(), at, $1::uuid, topic, 'bench', payload FROM events
"""

# The same totals straight from the event log ($1 workspace, $2 from, $3 to).
FROM_EVENTS = {
    "routes": """
        WITH r AS (
            SELECT payload->>'route_id' AS route_id, event_type, payload
            FROM analytics_events
            WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
              AND event_type IN ('route.created', 'route.completed'))
        SELECT count(DISTINCT route_id) AS routes,
            count(*) FILTER (WHERE event_type = 'route.completed') AS completed,
            sum((payload->>'planned_distance_m')::float) AS planned_distance_m,
            sum((payload->>'actual_duration_s')::float) AS actual_duration_s,
            sum((payload->>'stops_on_time')::int) AS stops_on_time
        FROM r
    """,
    "fleet": """
        WITH s AS (
            SELECT (payload->>'vehicle_id')::uuid AS v, created_at AS at, payload->>'to' AS status
            FROM analytics_events
            WHERE workspace_id = $1 AND created_at < $3
              AND event_type = 'vehicle.status_changed'),
        i AS (
            SELECT status, greatest(at, $2) AS s,
                least(lead(at) OVER (PARTITION BY v ORDER BY at), $3) AS e
            FROM s),
        f AS (
            SELECT (payload->>'vehicle_id')::uuid AS v, created_at AS at,
                (payload->'position'->>0)::float AS lng, (payload->'position'->>1)::float AS lat
            FROM analytics_events
            WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
              AND event_type = 'vehicle.position_updated'),
        d AS (
            SELECT 2 * 6371008.8 * asin(sqrt(
                sin(radians(lat - lag(lat) OVER w) / 2) ^ 2
                + cos(radians(lat)) * cos(radians(lag(lat) OVER w))
                  * sin(radians(lng - lag(lng) OVER w) / 2) ^ 2)) AS m
            FROM f WINDOW w AS (PARTITION BY v ORDER BY at))
        SELECT (SELECT sum(extract(epoch FROM e - s)) FILTER (WHERE status = 'in_transit')
                FROM i WHERE e > s) AS in_transit_s,
            (SELECT sum(m) FROM d) AS distance_m
    """,
    "efficiency": """
        SELECT count(*) AS optimizations, sum((payload->>'distance_m')::float) AS distance_m,
            sum((payload->>'submitted_distance_m')::float - (payload->>'distance_m')::float)
                AS saved_vs_submitted_m,
            sum((payload->>'submitted_duration_s')::float - (payload->>'duration_s')::float)
                AS saved_vs_submitted_s,
            avg((payload->>'solve_time_ms')::float) AS solve_time_avg_ms,
            count(*) FILTER (WHERE (payload->>'cached')::boolean) AS cache_hits
        FROM analytics_events
        WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
          AND event_type = 'route.optimized'
    """,
    "quantum": """
        SELECT count(*) AS jobs, max((payload->>'qubits')::int) AS qubits_max,
            avg((payload->>'gap_to_exact')::float) AS gap_to_exact_avg,
            sum((payload->>'classical_cost')::float - (payload->>'final_cost')::float)
                AS cost_saved,
            count(*) FILTER (WHERE (payload->>'fell_back')::boolean) AS fell_back
        FROM analytics_events
        WHERE workspace_id = $1 AND created_at >= $2 AND created_at < $3
          AND event_type = 'quantum.job_completed'
    """,
}


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


async def scoped(conn: asyncpg.Connection, workspace_id: uuid.UUID) -> None:
    await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", str(workspace_id))


async def generate(database: str, workspace_id: uuid.UUID, events: int, seed: int) -> int:
    """About `events` events of one workspace's 90 days, written by PostgreSQL itself (COPY
    is refused under row-level security; one INSERT ... SELECT is as quick)."""
    routes = max(1, round((events - VEHICLES) / PER_ROUTE))
    start = datetime.now(UTC) - timedelta(days=DAYS)
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await scoped(conn, workspace_id)
            await conn.execute("SELECT setseed($1)", (seed % 1000) / 1000)
            status = await conn.execute(
                GENERATE, workspace_id, start, routes, VEHICLES, float(DAYS * 86_400 - 6 * 3600)
            )
        await conn.execute("ANALYZE analytics_events")
    finally:
        await conn.close()
    return int(status.split()[-1])


def rebuild(database: str, redis_url: str) -> dict[str, Any]:
    """`python -m tasks.analytics_rebuild`, every workspace, timed from outside."""
    env = {**os.environ, "DATABASE_URL": owner_url(database), "REDIS_URL": redis_url}
    env.pop("APP_DATABASE_URL", None)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tasks.analytics_rebuild"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    elapsed = time.perf_counter() - started
    lines = re.findall(r": (\d+) events replayed in ([\d.]+) s", done.stdout)
    events = sum(int(n) for n, _ in lines)
    return {
        "seconds": round(elapsed, 1),
        "events": events,
        "events_per_s": round(events / elapsed),
        "per_workspace_s": [float(s) for _, s in lines],
        "load_average": load_average(),
    }


async def from_events(
    database: str, workspace_id: uuid.UUID, iterations: int
) -> dict[str, list[float]]:
    """Each report's totals computed from the event log, timed (ms, sorted)."""
    conn = await asyncpg.connect(owner_url(database))
    to = datetime.now(UTC)
    since = to - timedelta(days=RANGE_DAYS)
    out = {}
    try:
        for name, sql in FROM_EVENTS.items():

            async def call(_: int, sql: str = sql) -> Any:
                async with conn.transaction():
                    await scoped(conn, workspace_id)
                    return await conn.fetchrow(sql, workspace_id, since, to)

            out[name], _ = await timed_calls(call, warmup=1, iterations=iterations)
    finally:
        await conn.close()
    return out


def figures(timings: list[float]) -> dict[str, float]:
    return {"p50": round(percentile(timings, 0.5), 1), "p99": round(percentile(timings, 0.99), 1)}


PASSWORD = "Bench-analytics-1!"


def admins_file(database: str) -> Path:
    """Who administers each workspace of a built database (for --reuse)."""
    return Path(tempfile.gettempdir()) / f"{database}.admins.json"


async def register(client: httpx.AsyncClient, n: int) -> tuple[uuid.UUID, str]:
    email = f"bench-{n}-{uuid.uuid4().hex[:6]}@example.com"
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": "Bench",
            "organization_name": f"Bench {n}",
            "workspace_name": "Main",
        },
    )
    return uuid.UUID(response.json()["data"]["workspace"]["id"]), email


async def log_in(client: httpx.AsyncClient, email: str) -> str:
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["data"]["access_token"])


async def reports_over_http(
    client: httpx.AsyncClient, admins: list[tuple[uuid.UUID, str]], iterations: int
) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {name: [] for name in REPORTS}
    for _, token in admins:
        headers = {"authorization": f"Bearer {token}"}
        for name in REPORTS:

            async def call(_: int, name: str = name, headers: dict = headers) -> httpx.Response:
                response = await client.get(f"/api/v1/analytics/{name}", headers=headers)
                assert response.status_code == 200, response.text
                return response

            measured, _ = await timed_calls(call, warmup=3, iterations=iterations)
            timings[name] += measured
    return {name: sorted(t) for name, t in timings.items()}


async def build(args: argparse.Namespace, redis_url: str, report: dict[str, Any]) -> None:
    """Workspaces, their generated events, and the rebuild that folds them."""
    await prepare_database(args.database)
    async with served_api(args.database, redis_url) as client:
        registered = [await register(client, i) for i in range(args.workspaces)]
    admins_file(args.database).write_text(json.dumps([[str(w), e] for w, e in registered]))
    started = time.perf_counter()
    written = [
        await generate(args.database, workspace_id, args.events, seed=i)
        for i, (workspace_id, _) in enumerate(registered)
    ]
    report["events_per_workspace"] = written
    report["generate_s"] = round(time.perf_counter() - started, 1)
    report["generate_load_average"] = load_average()
    report["rebuild"] = rebuild(args.database, redis_url)
    log(f"rebuilt: {report['rebuild']}")


def log(message: str) -> None:
    print(f"[analytics] {message}", file=sys.stderr, flush=True)


async def scale(args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    report: dict[str, Any] = {"workspaces": args.workspaces}
    if not args.reuse:
        await build(args, redis_url, report)
    conn = await asyncpg.connect(owner_url(args.database))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    async with served_api(args.database, redis_url) as client:
        admins = [
            (uuid.UUID(workspace), await log_in(client, email))
            for workspace, email in json.loads(admins_file(args.database).read_text())
        ]
        http = await reports_over_http(client, admins, args.iterations)
        report["reports_ms"] = {name: figures(t) for name, t in http.items()}
        report["reports_load_average"] = load_average()
        direct = await from_events(args.database, admins[0][0], args.direct_iterations)
        report["from_events_ms"] = {name: figures(t) for name, t in direct.items()}
        report["from_events_load_average"] = load_average()
        report["from_events_over_report_p99"] = {
            name: round(
                report["from_events_ms"][name]["p99"] / report["reports_ms"][name]["p99"], 1
            )
            for name in REPORTS
        }
    return report


async def lag(args: argparse.Namespace, redis_url: str) -> dict[str, Any]:
    """Event-to-report lag under --rate events/s through the relay and the consumer."""
    from _live_setup import ApiServers, create_fleet
    from events import EventsProcesses, load

    api = ApiServers(
        args.database,
        redis_url,
        {"EVENT_RELAY_IN_API": "false", "POSITION_EVENT_SAMPLE_S": "0"},
        profile=False,
    )
    processes = EventsProcesses(args.database, redis_url)
    try:
        [url] = api.start(1)
        processes.start("relay", "--groups", "")
        processes.start("consumer", "--no-relay", "--groups", "analytics")
        await api.wait_ready()
        fleet = await create_fleet(url, 1000, "analytics")
        workspace_id = uuid.UUID(fleet.workspace_id)
        conn = await asyncpg.connect(owner_url(args.database))
        seen: dict[uuid.UUID, float] = {}
        stop = asyncio.Event()

        loaded_from = await conn.fetchval("SELECT clock_timestamp()")

        async def poll() -> None:
            # A receipt carries its transaction's start: one that commits after a poll began
            # is still found by the next polls, which look back RECEIPT_MARGIN_S.
            polled = loaded_from
            while not stop.is_set():
                began = datetime.now(UTC)
                async with conn.transaction():
                    await scoped(conn, workspace_id)
                    rows = await conn.fetch(
                        "SELECT r.event_id, extract(epoch FROM clock_timestamp() - e.created_at)"
                        " AS lag_s FROM consumer_receipts r JOIN analytics_events e"
                        " ON e.id = r.event_id AND e.created_at >= $2"
                        " WHERE r.consumer_group = 'analytics' AND r.processed_at >= $1",
                        max(loaded_from, polled - timedelta(seconds=RECEIPT_MARGIN_S)),
                        loaded_from,
                    )
                polled = began
                for row in rows:
                    seen.setdefault(row["event_id"], float(row["lag_s"]))
                await asyncio.sleep(POLL_S)

        poller = asyncio.create_task(poll())
        started = time.perf_counter()
        await load(url, fleet.token, fleet.vehicle_ids, rate=args.rate, duration_s=args.lag_seconds)
        loaded_s = time.perf_counter() - started
        load_avg = load_average()
        # Drained: nothing new folded for 3 s (or a minute passed).
        deadline, quiet = time.monotonic() + 60, 0
        while quiet < 6 and time.monotonic() < deadline:
            before = len(seen)
            await asyncio.sleep(0.5)
            quiet = quiet + 1 if len(seen) == before else 0
        stop.set()
        await poller
        async with conn.transaction():
            await scoped(conn, workspace_id)
            committed = await conn.fetchval(
                "SELECT count(*) FROM analytics_events"
                " WHERE workspace_id = $1 AND created_at >= $2",
                workspace_id,
                loaded_from,
            )
        await conn.close()
        lags = sorted(v * 1000 for v in seen.values())
        return {
            "seconds": args.lag_seconds,
            "committed": committed,
            "rate_per_s": round(committed / loaded_s),
            "folded": len(seen),
            "lag_ms": {
                "p50": round(percentile(lags, 0.5)),
                "p99": round(percentile(lags, 0.99)),
                "max": round(lags[-1]),
            }
            if lags
            else None,
            "load_average": load_avg,
        }
    finally:
        processes.stop_all()
        api.stop()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    redis_url = redis_db_url(args.redis_db)
    redis = Redis.from_url(redis_url)
    await redis.flushdb()
    await redis.aclose()
    report = await scale(args, redis_url)
    if args.lag_seconds:
        report["lag"] = await lag(args, redis_url)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omniroute_bench_analytics")
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--workspaces", type=int, default=3)
    parser.add_argument("--events", type=int, default=20_000, help="per workspace")
    parser.add_argument("--iterations", type=int, default=100, help="GETs per report/workspace")
    parser.add_argument(
        "--direct-iterations", type=int, default=20, help="event-log computations per report"
    )
    parser.add_argument("--lag-seconds", type=float, default=0, help="0: no lag run")
    parser.add_argument("--rate", type=int, default=2000, help="events/s in the lag run")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the database a previous run built"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = asyncio.run(run(args))
    print(json.dumps(report, indent=None if args.json else 2))


if __name__ == "__main__":
    main()
