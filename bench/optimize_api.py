"""End-to-end optimize latency: the real API and one real Dramatiq worker, cache miss and hit.

    nice -n 5 .venv/bin/python bench/optimize_api.py                  # 10, 50, 200 stops x 5
    .venv/bin/python bench/optimize_api.py --sizes 50 --repetitions 3 --json
    .venv/bin/python bench/optimize_api.py --worker-timeout-ms 20    # faster idle broker polls
    .venv/bin/python bench/optimize_api.py --profile-hits            # + SQL and cProfile of hits
    .venv/bin/python bench/optimize_api.py --roads --sizes 50        # on the sample road network

Works in its own database (default omniroute_bench_optimize, recreated from the PostGIS
template and migrated on every run) and its own Redis database (default 14, flushed at
start). Starts `python app.py` on a free loopback port and `dramatiq tasks.worker` as
subprocesses and stops both on exit, Ctrl-C included.

Per size and repetition, with fresh random stops each time so that the cache misses, and a
pause before each miss (--idle-s, 2 s) so that it reaches a quiet worker, as most requests do:
- miss, wait: POST /routes/{id}/optimize?wait=60 until the 200 with the optimized route;
- miss, poll: POST .../optimize (202), GET /jobs/{id} until final, then GET /routes/{id};
- hit: a new route with the same stops as each miss, POST .../optimize: 200 with cached.
A miss is split with the job's own timestamps and the commit time of its route.optimized
event (the Redis stream id) into: submit (request to the API's transaction), queue (to the
worker's claim), prep (problem and matrix), solve (the solver's elapsed_s), save (plan
written and committed) and reply (until the client holds the answer).
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import cProfile
import csv
import io
import json
import os
import pstats
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import IO, Any

import asyncpg
import httpx
from _common import (
    POSTGIS_TEMPLATE,
    ROOT,
    free_port,
    owner_url,
    redis_db_url,
    signal_group,
)
from _common import (
    prepare_database as prepare_database_async,
)
from redis import Redis
from sqlalchemy import event

from core.settings import Settings, get_settings

DEFAULT_DATABASE = "omniroute_bench_optimize"
DEFAULT_REDIS_DB = 14
TARGET_MISS_S = {50: 3.0}
TARGET_HIT_MS = 20.0
PASSWORD = "bench optimize correct horse staple"
PLANNED_START = "2030-03-01T08:00:00Z"
FINAL = {"completed", "failed", "timeout", "cancelled"}
READY_TIMEOUT_S = 90.0
JOB_TIMEOUT_S = 120.0
STOP_GRACE_S = 15.0

# Bengaluru, stops uniform within +-0.15 deg (~33 x 33 km) of the centre (great-circle
# travel); with --roads, central Helsinki within the shipped sample road network.
CENTRE = (77.5946, 12.9716)
SPREAD_DEG = 0.15
HELSINKI_CENTRE = (24.9440, 60.1715)
HELSINKI_SPREAD_DEG = 0.0050


# --- subprocesses ---------------------------------------------------------------------------


class Children:
    """The API and the worker, each in a session of its own so that one signal reaches the
    processes the worker forks; stopped on any exit path, at most once."""

    def __init__(self, logs: dict[str, IO[bytes]]) -> None:
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.logs = logs

    def start(self, name: str, command: Sequence[str], env: dict[str, str]) -> None:
        self.procs[name] = subprocess.Popen(
            list(command),
            cwd=ROOT,
            env=env,
            stdout=self.logs[name],
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}")

    def tail(self, name: str, chars: int = 3000) -> str:
        log_file = self.logs[name]
        log_file.seek(0)
        return log_file.read().decode(errors="replace")[-chars:]

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()


def _exit_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


# --- database and Redis ---------------------------------------------------------------------


def prepare_database(database: str) -> None:
    asyncio.run(prepare_database_async(database))


async def _analyze(database: str) -> None:
    conn = await asyncpg.connect(owner_url(database))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def analyze(database: str) -> None:
    """Planner statistics for what was just loaded. A server with autovacuum on gathers them
    by itself within a minute or so; a server with it off (as `conf.d/90-ci.conf` sets on
    the CI machines) would otherwise plan every query for empty tables."""
    asyncio.run(_analyze(database))


def commit_times(redis: Redis, job_ids: set[str]) -> dict[str, float]:
    """Unix time at which each job's route.optimized event was added to its stream: the
    stream id's milliseconds, taken by Redis right after the plan's transaction committed."""
    found: dict[str, float] = {}
    entries: list[tuple[bytes, dict[bytes, bytes]]] = redis.xrevrange(  # type: ignore[assignment]
        "events:route.optimized", count=200
    )
    for entry_id, fields in entries:
        envelope = json.loads(fields[b"event"])
        job_id = envelope["data"].get("job_id")
        if job_id in job_ids:
            found[job_id] = int(entry_id.decode().split("-")[0]) / 1000
    return found


# --- figures --------------------------------------------------------------------------------


@dataclass(slots=True)
class Miss:
    stops: int
    method: str  # "wait" or "poll"
    e2e_s: float
    solver_s: float
    execution_s: float
    solver: str
    status: str
    distance_km: float
    submit_s: float
    queue_s: float
    prep_s: float
    save_s: float | None
    reply_s: float | None

    @property
    def overhead_s(self) -> float:
        return self.e2e_s - self.solver_s


@dataclass(slots=True)
class Hit:
    stops: int
    e2e_ms: float


@dataclass(slots=True)
class Row:
    stops: int
    path: str
    samples: int
    p50: float
    max: float
    unit: str
    solver_p50_s: float | None = None
    solver_max_s: float | None = None
    overhead_p50_s: float | None = None
    overhead_max_s: float | None = None
    target: float | None = None

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.max < self.target


@dataclass(slots=True)
class Report:
    database: str
    redis_url: str
    repetitions: int
    worker_timeout_ms: int | None
    time_limit_s: float | None
    poll_ms: int
    idle_s: float
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cold: Miss | None = None
    misses: list[Miss] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    floor_ms: dict[str, float] = field(default_factory=dict)
    rows: list[Row] = field(default_factory=list)
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    hit_profiles: list[dict[str, Any]] = field(default_factory=list)


PARTS = ("submit_s", "queue_s", "prep_s", "solver_s", "save_s", "reply_s")


def summarise(report: Report, sizes: Sequence[int]) -> None:
    for n in sizes:
        for method, label in (("wait", "miss ?wait=60"), ("poll", "miss 202+poll")):
            runs = [m for m in report.misses if m.stops == n and m.method == method]
            if not runs:
                continue
            e2e = [m.e2e_s for m in runs]
            solver = [m.solver_s for m in runs]
            overhead = [m.overhead_s for m in runs]
            report.rows.append(
                Row(
                    n,
                    label,
                    len(runs),
                    statistics.median(e2e),
                    max(e2e),
                    "s",
                    statistics.median(solver),
                    max(solver),
                    statistics.median(overhead),
                    max(overhead),
                    TARGET_MISS_S.get(n) if method == "wait" else None,
                )
            )
            parts: dict[str, Any] = {"stops": n, "path": label}
            for part in PARTS:
                values = [v for m in runs if (v := getattr(m, part)) is not None]
                parts[part] = statistics.median(values) if values else None
            report.breakdown.append(parts)
        hits = [h.e2e_ms for h in report.hits if h.stops == n]
        if hits:
            report.rows.append(
                Row(
                    n,
                    "hit",
                    len(hits),
                    statistics.median(hits),
                    max(hits),
                    "ms",
                    target=TARGET_HIT_MS,
                )
            )


# --- the API --------------------------------------------------------------------------------


class Api:
    def __init__(self, client: httpx.Client, children: Children) -> None:
        self.client = client
        self.children = children

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> dict[str, Any]:
        response = self.client.request(method, path, **kwargs)
        if response.status_code != expect:
            raise RuntimeError(
                f"{method} {path}: {response.status_code} (expected {expect}) {response.text}"
            )
        body: dict[str, Any] = response.json()["data"]
        return body

    def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            self.children.check()
            try:
                if self.client.get("/health/ready").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"the API was not ready within {READY_TIMEOUT_S:.0f} s")

    def register(self) -> None:
        data = self.call(
            "POST",
            "/api/v1/auth/register",
            201,
            json={
                "email": f"bench-{uuid.uuid4().hex[:10]}@example.com",
                "password": PASSWORD,
                "full_name": "Bench Dispatcher",
                "organization_name": "Bench Optimize",
                "workspace_name": "Bengaluru",
            },
        )
        self.client.headers["Authorization"] = f"Bearer {data['access_token']}"

    def import_locations(self, points: list[tuple[float, float]], kind: str, tag: str) -> list[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["name", "lat", "lng", "location_type"])
        for i, (lng, lat) in enumerate(points):
            writer.writerow([f"{tag} {i:04d}", lat, lng, kind])
        data = self.call(
            "POST",
            "/api/v1/locations/import",
            201,
            content=buffer.getvalue().encode(),
            headers={"Content-Type": "text/csv"},
        )
        ids: list[str] = data["ids"]
        return ids

    def create_vehicle(self) -> str:
        data = self.call(
            "POST",
            "/api/v1/vehicles",
            201,
            json={"vehicle_type": "van", "plate_number": "KA01BN0001", "capacity_kg": 1_000_000},
        )
        return str(data["id"])

    def create_route(self, depot: str, vehicle: str, stops: list[str]) -> str:
        data = self.call("POST", "/api/v1/routes", 201, json=route_body(depot, vehicle, stops))
        return str(data["id"])


def route_body(depot: str, vehicle: str, stops: list[str]) -> dict[str, Any]:
    return {
        "name": f"Bench {len(stops)} stops",
        "vehicle_id": vehicle,
        "depot_location_id": depot,
        "planned_start": PLANNED_START,
        "stops": [{"location_id": s, "load_kg": 10, "service_time_minutes": 3} for s in stops],
    }


def city_points(rng: random.Random, n: int) -> list[tuple[float, float]]:
    centre, spread = (HELSINKI_CENTRE, HELSINKI_SPREAD_DEG) if ROADS else (CENTRE, SPREAD_DEG)
    return [
        (
            round(centre[0] + rng.uniform(-spread, spread), 6),
            round(centre[1] + rng.uniform(-spread * 0.7, spread * 0.7), 6),
        )
        for _ in range(n)
    ]


ROADS = False


def unix(timestamp: str | None) -> float:
    if timestamp is None:
        raise RuntimeError("the job has no timestamp where one was expected")
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


@dataclass(slots=True)
class Timed:
    """One optimization as the client saw it, before the commit time is looked up."""

    job: dict[str, Any]
    route: dict[str, Any]
    sent: float  # unix time
    received: float  # unix time
    e2e_s: float  # perf_counter difference


class Runner:
    def __init__(
        self,
        api: Api,
        redis: Redis,
        depot: str,
        vehicle: str,
        opt_body: dict[str, Any],
        poll_s: float,
        idle_s: float,
    ) -> None:
        self.api = api
        self.redis = redis
        self.depot = depot
        self.vehicle = vehicle
        self.opt_body = opt_body
        self.poll_s = poll_s
        self.idle_s = idle_s

    def optimize_wait(self, route_id: str) -> Timed:
        sent, started = time.time(), time.perf_counter()
        data = self.api.call(
            "POST", f"/api/v1/routes/{route_id}/optimize?wait=60", 200, json=self.opt_body
        )
        e2e = time.perf_counter() - started
        return Timed(data["job"], data["route"], sent, time.time(), e2e)

    def optimize_poll(self, route_id: str) -> Timed:
        sent, started = time.time(), time.perf_counter()
        data = self.api.call("POST", f"/api/v1/routes/{route_id}/optimize", 202, json=self.opt_body)
        job_id = data["job"]["id"]
        deadline = started + JOB_TIMEOUT_S
        while True:
            job = self.api.call("GET", f"/api/v1/jobs/{job_id}", 200)
            if job["status"] in FINAL:
                break
            if time.perf_counter() > deadline:
                raise RuntimeError(f"job {job_id} not final after {JOB_TIMEOUT_S:.0f} s: {job}")
            time.sleep(self.poll_s)
        route = self.api.call("GET", f"/api/v1/routes/{route_id}", 200)
        e2e = time.perf_counter() - started
        return Timed(job, route, sent, time.time(), e2e)

    def miss(self, stops: list[str], method: str) -> Miss:
        route_id = self.api.create_route(self.depot, self.vehicle, stops)
        # A request to a quiet worker: its consumer has backed off to its longest broker poll.
        time.sleep(self.idle_s)
        call: Callable[[str], Timed] = (
            self.optimize_wait if method == "wait" else self.optimize_poll
        )
        timed = call(route_id)
        job, route = timed.job, timed.route
        if job["status"] != "completed" or job["cached"] or route["status"] != "optimized":
            raise RuntimeError(
                f"expected a fresh completed job and an optimized route, got job {job['status']}"
                f" (cached {job['cached']}), route {route['status']}: {job.get('error_message')}"
            )
        result = job["result"] or {}
        solver_s = float(result.get("elapsed_s") or 0.0)
        created, started, completed = (
            unix(job["created_at"]),
            unix(job["started_at"]),
            unix(job["completed_at"]),
        )
        committed = commit_times(self.redis, {job["id"]}).get(job["id"])
        return Miss(
            stops=len(stops),
            method=method,
            e2e_s=timed.e2e_s,
            solver_s=solver_s,
            execution_s=(job["execution_time_ms"] or 0) / 1000,
            solver=str(result.get("solver")),
            status=job["status"],
            distance_km=float(route["distance_km"] or 0.0),
            submit_s=created - timed.sent,
            queue_s=started - created,
            prep_s=(completed - started) - solver_s,
            save_s=None if committed is None else committed - completed,
            reply_s=None if committed is None else timed.received - committed,
        )

    def hit(self, stops: list[str]) -> Hit:
        route_id = self.api.create_route(self.depot, self.vehicle, stops)
        started = time.perf_counter()
        data = self.api.call("POST", f"/api/v1/routes/{route_id}/optimize", 200, json=self.opt_body)
        e2e_ms = (time.perf_counter() - started) * 1000
        if not data["job"]["cached"] or data["route"]["status"] != "optimized":
            raise RuntimeError(f"expected a cache hit, got {data['job']}")
        return Hit(len(stops), e2e_ms)


# --- the run --------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[optimize_api] {message}", file=sys.stderr, flush=True)


def child_env(args: argparse.Namespace, redis_url: str, port: int) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(args.database),
        "REDIS_URL": redis_url,
        "ENVIRONMENT": "development",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_USER_PER_MIN": "100000000",
        "RATE_LIMIT_WORKSPACE_PER_MIN": "100000000",
        # One token for the whole run, however long the 200-stop solves take.
        "ACCESS_TOKEN_TTL_S": "86400",
    }
    for inherited in ("APP_DATABASE_URL", "BROKER_URL", "dramatiq_worker_timeout"):
        env.pop(inherited, None)
    if args.worker_timeout_ms is not None:
        # Dramatiq's idle consumer sleeps up to this long between broker polls (default 1000).
        env["dramatiq_worker_timeout"] = str(args.worker_timeout_ms)
    return env


def wait_for_worker(redis: Redis, children: Children, database: str) -> None:
    """Until the worker's consumer has polled the broker once (it then has a heartbeat, under
    the broker's namespace `dramatiq:<deployment>` of `tasks.broker.redis_namespace`, the
    deployment named after the database; importing that module would build a broker)."""
    deployment = Settings(database_url=owner_url(database)).deployment
    heartbeats = f"dramatiq:{deployment}:__heartbeats__"
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        children.check()
        if redis.zcard(heartbeats):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the worker did not poll the broker within {READY_TIMEOUT_S:.0f} s")


def run(args: argparse.Namespace, children: Children) -> Report:
    redis_url = redis_db_url(args.redis_db)
    report = Report(
        database=args.database,
        redis_url=redis_url,
        repetitions=args.repetitions,
        worker_timeout_ms=args.worker_timeout_ms,
        time_limit_s=args.time_limit,
        poll_ms=args.poll_ms,
        idle_s=args.idle_s,
        load_before=os.getloadavg(),
    )
    log(f"recreating {args.database} from {POSTGIS_TEMPLATE} and migrating")
    prepare_database(args.database)
    if args.roads:
        from services.roads.imports import import_network

        asyncio.run(import_network(owner_url(args.database), ROOT / "data/roads/helsinki.osm.pbf"))
    redis = Redis.from_url(redis_url)
    redis.flushdb()

    port = free_port()
    env = child_env(args, redis_url, port)
    children.start("api", [sys.executable, "app.py"], env)
    children.start(
        "worker",
        [sys.executable, "-m", "dramatiq", "tasks.worker", "--processes", "1", "--threads", "2"],
        env,
    )
    rng = random.Random(args.seed)
    opt_body: dict[str, Any] = {"seed": 0}
    if args.time_limit is not None:
        opt_body["time_limit_s"] = args.time_limit
    with httpx.Client(
        base_url=f"http://127.0.0.1:{port}", timeout=JOB_TIMEOUT_S, trust_env=False
    ) as client:
        api = Api(client, children)
        api.wait_ready()
        wait_for_worker(redis, children, args.database)
        log(f"API on 127.0.0.1:{port} and worker ready")
        api.register()
        depot = api.import_locations(city_points(rng, 1), "depot", "Depot")[0]
        vehicle = api.create_vehicle()
        runner = Runner(api, redis, depot, vehicle, opt_body, args.poll_ms / 1000, args.idle_s)

        # The worker's first job opens its pools and imports the solvers: reported, not timed.
        warm = api.import_locations(city_points(rng, 10), "customer", "Warm-up")
        report.cold = runner.miss(warm, "wait")
        runner.hit(warm)
        log(f"first job on a fresh worker: {report.cold.e2e_s:.2f} s end to end")
        report.floor_ms = floor(api)
        hit_sets: dict[int, list[str]] = {}

        for n in args.sizes:
            # Two fresh stop sets per repetition (one per miss path); each is then hit once.
            pool = api.import_locations(
                city_points(rng, 2 * n * args.repetitions), "customer", f"N{n}"
            )
            analyze(args.database)
            for rep in range(args.repetitions):
                base = 2 * n * rep
                first, second = pool[base : base + n], pool[base + n : base + 2 * n]
                for stops, method in ((first, "wait"), (second, "poll")):
                    miss = runner.miss(stops, method)
                    report.misses.append(miss)
                    report.hits.append(runner.hit(stops))
                hit_sets.setdefault(n, first)
                log(
                    f"{n} stops, repetition {rep + 1}/{args.repetitions}:"
                    f" wait {report.misses[-2].e2e_s:.2f} s, poll {report.misses[-1].e2e_s:.2f} s,"
                    f" hit {report.hits[-1].e2e_ms:.1f} ms"
                )
        token = client.headers["Authorization"]
    report.load_after = os.getloadavg()
    summarise(report, args.sizes)
    if args.profile_hits:
        children.stop()
        log("profiling cache hits in-process (SQL statements and Python time)")
        report.hit_profiles = asyncio.run(
            profile_hits(args, redis_url, token, depot, vehicle, hit_sets)
        )
    return report


def floor(api: Api, samples: int = 30) -> dict[str, float]:
    """Medians of two requests that do next to nothing, for scale: what any hit pays."""
    figures: dict[str, float] = {}
    for name, path in (("GET /health", "/health"), ("GET /api/v1/auth/me", "/api/v1/auth/me")):
        timings = []
        for _ in range(samples):
            started = time.perf_counter()
            response = api.client.get(path)
            timings.append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"{path}: {response.status_code} {response.text}")
        figures[name] = statistics.median(timings)
    return figures


# --- where a hit's time goes ----------------------------------------------------------------


async def profile_hits(
    args: argparse.Namespace,
    redis_url: str,
    token: str,
    depot: str,
    vehicle: str,
    hit_sets: dict[int, list[str]],
) -> list[dict[str, Any]]:
    """The app in this process on the same database and Redis: for one hit per size, the
    SQL statements it runs (count and time, grouped) and the top functions by own time."""
    os.environ["REDIS_URL"] = redis_url
    get_settings.cache_clear()
    from app import create_app
    from core.settings import Settings

    settings = Settings(
        environment="development",
        database_url=owner_url(args.database),
        redis_url=redis_url,
        rate_limit_user_per_min=100_000_000,
        rate_limit_workspace_per_min=100_000_000,
        log_level="WARNING",
    )
    app = create_app(settings)
    statements: list[tuple[str, float]] = []
    marks: dict[int, float] = {}

    def before(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        marks[id(cursor)] = time.perf_counter()

    def after(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        started = marks.pop(id(cursor), None)
        if started is not None:
            statements.append((" ".join(statement.split())[:70], time.perf_counter() - started))

    profiles: list[dict[str, Any]] = []
    async with app.router.lifespan_context(app):
        engine = app.state.db.engine.sync_engine
        event.listen(engine, "before_cursor_execute", before)
        event.listen(engine, "after_cursor_execute", after)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://bench", headers={"Authorization": token}
        ) as client:
            for n, stops in hit_sets.items():
                body = route_body(depot, vehicle, stops)
                # Three hits: one to warm pools and caches, one for the SQL statements and the
                # time (cProfile would inflate both), one under cProfile.
                profiler = cProfile.Profile()
                total_ms, recorded = 0.0, list(statements)
                for step in ("warm", "timed", "profiled"):
                    created = await client.post("/api/v1/routes", json=body)
                    route_id = created.json()["data"]["id"]
                    statements.clear()
                    started = time.perf_counter()
                    if step == "profiled":
                        profiler.enable()
                    response = await client.post(f"/api/v1/routes/{route_id}/optimize", json={})
                    profiler.disable()
                    if step == "timed":
                        total_ms = (time.perf_counter() - started) * 1000
                        recorded = list(statements)
                    if response.status_code != 200 or not response.json()["data"]["job"]["cached"]:
                        raise RuntimeError(f"expected a cache hit: {response.text[:500]}")
                profiles.append(hit_profile(n, total_ms, recorded, profiler))
    return profiles


def hit_profile(
    n: int, total_ms: float, statements: list[tuple[str, float]], profiler: cProfile.Profile
) -> dict[str, Any]:
    grouped: dict[str, list[float]] = {}
    for text, seconds in statements:
        grouped.setdefault(text, []).append(seconds)
    sql = [
        {"sql": k, "count": len(v), "ms": sum(v) * 1000}
        for k, v in sorted(grouped.items(), key=lambda kv: -sum(kv[1]))
    ]
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    own = [
        {
            "function": f"{Path(file).name}:{line} {name}",
            "calls": calls,
            "own_ms": tottime * 1000,
            "cum_ms": cumtime * 1000,
        }
        for (file, line, name), (_, calls, tottime, cumtime, _) in sorted(
            raw.items(), key=lambda item: -item[1][2]
        )
    ]
    return {
        "stops": n,
        "total_ms": total_ms,
        "statements": len(statements),
        "sql_ms": sum(s for _, s in statements) * 1000,
        "sql": sql[:8],
        "top_own": own[:10],
    }


# --- output ---------------------------------------------------------------------------------


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if unit == "s" else f"{value:.1f}"


def print_report(report: Report) -> None:
    budget = f"{report.time_limit_s:g} s" if report.time_limit_s else "default"
    poll = (
        f"{report.worker_timeout_ms} ms"
        if report.worker_timeout_ms is not None
        else "dramatiq default (1000 ms)"
    )
    print(
        f"\nsolver budget: {budget}; worker idle poll cap: {poll}; client poll of"
        f" GET /jobs: {report.poll_ms} ms; pause before a miss: {report.idle_s:g} s;"
        " load average before/after:"
        f" {report.load_before[0]:.2f}/{report.load_after[0]:.2f}"
    )
    if report.cold:
        c = report.cold
        print(
            f"first job on a fresh worker (10 stops, not in the table): {c.e2e_s:.3f} s,"
            f" solver {c.solver_s:.3f} s, queue {c.queue_s:.3f} s, prep {c.prep_s:.3f} s\n"
        )
    if report.floor_ms:
        floors = ", ".join(f"{k} {v:.1f} ms" for k, v in report.floor_ms.items())
        print(f"for scale, medians of requests that do next to nothing: {floors}\n")
    header = (
        f"{'stops':>5}  {'path':14} {'n':>3} {'p50':>8} {'max':>8} {'unit':4}"
        f" {'solver p50':>10} {'solver max':>10} {'ovh p50':>8} {'ovh max':>8}  target"
    )
    print(header + "\n" + "-" * len(header))
    for r in report.rows:
        verdict = ""
        if r.target is not None:
            verdict = f"max < {r.target:g} {r.unit}: {'ok' if r.met else 'MISSED'}"
        print(
            f"{r.stops:>5}  {r.path:14} {r.samples:>3} {fmt(r.p50, r.unit):>8}"
            f" {fmt(r.max, r.unit):>8} {r.unit:4} {fmt(r.solver_p50_s, 's'):>10}"
            f" {fmt(r.solver_max_s, 's'):>10} {fmt(r.overhead_p50_s, 's'):>8}"
            f" {fmt(r.overhead_max_s, 's'):>8}  {verdict}"
        )
    print("(ovh: end to end minus the solver's own elapsed_s)\n")
    header = f"{'stops':>5}  {'path':14}" + "".join(f" {p.removesuffix('_s'):>8}" for p in PARTS)
    print("where a miss's time goes, medians in seconds:")
    print(header + "\n" + "-" * len(header))
    for b in report.breakdown:
        print(f"{b['stops']:>5}  {b['path']:14}" + "".join(f" {fmt(b[p], 's'):>8}" for p in PARTS))
    print(
        "(submit: to the API's transaction; queue: to the worker's claim; prep: problem and"
        " matrix;\n solve: solver elapsed_s; save: plan written and committed; reply: commit to"
        " the client's answer)"
    )
    for p in report.hit_profiles:
        print(
            f"\none cache hit of {p['stops']} stops in-process: {p['total_ms']:.1f} ms,"
            f" {p['statements']} SQL statements taking {p['sql_ms']:.1f} ms"
        )
        for g in p["sql"]:
            print(f"  {g['count']:>4} x {g['ms']:7.1f} ms  {g['sql']}")
        print("  top functions by own time under cProfile (ms own / cumulative, calls):")
        for f in p["top_own"][:6]:
            print(f"  {f['own_ms']:7.1f} / {f['cum_ms']:7.1f} {f['calls']:>7}  {f['function']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB)
    parser.add_argument(
        "--sizes", type=lambda s: [int(x) for x in s.split(",")], default=[10, 50, 200]
    )
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument(
        "--roads", action="store_true", help="stops in the sample road network (road travel)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random stops")
    parser.add_argument(
        "--time-limit", type=float, default=None, help="solver budget in s (default: the API's)"
    )
    parser.add_argument(
        "--worker-timeout-ms",
        type=int,
        default=None,
        help="the worker's idle broker poll cap (dramatiq_worker_timeout; default: dramatiq's)",
    )
    parser.add_argument("--poll-ms", type=int, default=50, help="client poll of GET /jobs/{id}")
    parser.add_argument(
        "--idle-s",
        type=float,
        default=2.0,
        help="pause before each miss, so that it reaches a quiet worker (0: back to back)",
    )
    parser.add_argument(
        "--profile-hits",
        action="store_true",
        help="then profile one cache hit per size in-process: SQL statements, top functions",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if args.repetitions < 1 or not args.sizes or min(args.sizes) < 1 or max(args.sizes) > 500:
        parser.error("--repetitions >= 1 and --sizes between 1 and 500 stops")
    if not 0 <= args.redis_db <= 15 or args.poll_ms < 1 or not 0 <= args.idle_s <= 60:
        parser.error("--redis-db in 0..15, --poll-ms >= 1, --idle-s in 0..60")
    if get_settings().redis_url.startswith("memory"):
        parser.error("needs Redis: set REDIS_URL (or run scripts/provision.sh)")

    global ROADS
    ROADS = args.roads
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    with tempfile.TemporaryFile() as api_log, tempfile.TemporaryFile() as worker_log:
        children = Children({"api": api_log, "worker": worker_log})
        atexit.register(children.stop)
        try:
            report = run(args, children)
        except Exception:
            for name in children.procs:
                sys.stderr.write(f"--- {name} log (tail) ---\n{children.tail(name)}\n")
            raise
        finally:
            children.stop()
    if args.json:
        out = asdict(report)
        for row, raw in zip(report.rows, out["rows"], strict=True):
            raw["met"] = row.met
        for miss, raw in zip(report.misses, out["misses"], strict=True):
            raw["overhead_s"] = miss.overhead_s
        print(json.dumps(out, indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
