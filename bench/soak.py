"""Soak: mixed traffic for a while (10 minutes by default) against a real API, two workers and
a private Redis, with one worker SIGKILLed and Redis restarted once during the run.

    nice -n 10 .venv/bin/python bench/soak.py --database omniroute_bench_<prefix>_soak \\
        --duration 600

Traffic, from `--clients` concurrent dashboards of one workspace: logins, reads (vehicles,
routes, one route), GPS batches of 20 positions, route optimizations (one at a time per
client), and a live-map socket per client that reconnects when closed. At a third of the
run one worker's process is SIGKILLed (the other keeps working; a job it held is taken over
once its lease runs out); at two thirds Redis is stopped for `--redis-down` seconds and
started again (append-only file, so nothing committed to it is lost).

Reports per operation: requests, errors outside the fault windows (a window runs from the
fault to `--settle` seconds after it ended), p50/p99 latency outside them; the resident memory
of each process at start and end; positions acknowledged (201) but not stored (must be 0);
events committed (rows of `analytics_events`) but missing from the Redis streams (must be
0 for events committed outside the Redis outage); jobs not finished at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from _common import ROOT, free_port, owner_url, prepare_database, signal_group
from httpx_ws import aconnect_ws
from redis.asyncio import Redis

PASSWORD = "correct horse battery staple"
FAST_RECOVERY = {"BROKER_HEARTBEAT_TIMEOUT_S": "10", "JOB_LEASE_S": "10"}


@dataclass
class Outcomes:
    started: float
    windows: list[tuple[float, float]] = field(default_factory=list)
    calls: dict[str, list[tuple[float, float, bool]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    acknowledged: set[tuple[str, str]] = field(default_factory=set)
    socket_messages: int = 0
    socket_reconnects: int = 0

    def record(self, op: str, at: float, took: float, ok: bool) -> None:
        self.calls[op].append((at, took, ok))

    def in_window(self, at: float, settle: float) -> bool:
        return any(start <= at <= end + settle for start, end in self.windows)


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(FileNotFoundError, IndexError):
                raw = Path(f"/proc/{entry}/stat").read_text()
                if int(raw[raw.rindex(")") + 2 :].split()[1]) == pid:
                    children.append(int(entry))
    return children


class Processes:
    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, name: str, command: list[str], env: dict[str, str]) -> None:
        self.procs[name] = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=(self.logs / f"{name}.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def memory(self) -> dict[str, int]:
        out = {}
        for name, proc in self.procs.items():
            if proc.poll() is None:
                out[name] = rss_kb(proc.pid)
                for i, child in enumerate(descendants(proc.pid)):
                    out[f"{name}/child{i}"] = rss_kb(child)
        return out

    def stop(self, name: str | None = None) -> None:
        for key in [name] if name else list(self.procs):
            proc = self.procs[key]
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    signal_group(proc.pid, signal.SIGKILL)
                    proc.wait()


async def wait_ready(http: httpx.AsyncClient, within_s: float = 90) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/health/ready")).status_code == 200:
                return
        await asyncio.sleep(0.3)
    raise SystemExit("the API did not become ready")


async def setup(http: httpx.AsyncClient, clients: int) -> dict[str, Any]:
    email = f"soak-{random.randrange(10**9)}@example.com"
    registered = await http.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": "Soak Admin",
            "organization_name": "Soak",
            "workspace_name": "Main",
        },
    )
    data = registered.json()["data"]
    h = {"Authorization": f"Bearer {data['access_token']}"}
    depot = (
        await http.post(
            "/api/v1/locations",
            json={"name": "Depot", "geo": {"lng": 77.52, "lat": 13.03}, "location_type": "depot"},
            headers=h,
        )
    ).json()["data"]["id"]
    stops = [
        (
            await http.post(
                "/api/v1/locations",
                json={
                    "name": f"C{i}",
                    "geo": {"lng": 77.5 + 0.01 * (i % 7), "lat": 12.9 + 0.01 * (i // 7)},
                    "location_type": "customer",
                },
                headers=h,
            )
        ).json()["data"]["id"]
        for i in range(20)
    ]
    vans = [
        (
            await http.post(
                "/api/v1/vehicles",
                json={"vehicle_type": "van", "plate_number": f"SOAK-{i}", "capacity_kg": 2000},
                headers=h,
            )
        ).json()["data"]["id"]
        for i in range(clients * 5)
    ]
    return {
        "email": email,
        "workspace": data["workspace"]["id"],
        "headers": h,
        "depot": depot,
        "stops": stops,
        "vans": vans,
    }


async def timed(
    out: Outcomes, op: str, call: Any, ok_status: tuple[int, ...]
) -> httpx.Response | None:
    at = time.monotonic()
    try:
        response: httpx.Response = await call
    except httpx.HTTPError:
        out.record(op, at, time.monotonic() - at, False)
        return None
    out.record(op, at, time.monotonic() - at, response.status_code in ok_status)
    return response


async def client_loop(
    http: httpx.AsyncClient, world: dict[str, Any], out: Outcomes, n: int, until: float
) -> None:
    h = world["headers"]
    vans = world["vans"][n * 5 : n * 5 + 5]
    route_id: str | None = None
    job_started = 0.0
    while time.monotonic() < until:
        roll = random.random()
        if roll < 0.05:
            await timed(
                out,
                "login",
                http.post(
                    "/api/v1/auth/login", json={"email": world["email"], "password": PASSWORD}
                ),
                (200,),
            )
        elif roll < 0.55:
            path = random.choice(["/api/v1/vehicles", "/api/v1/routes", "/api/v1/locations"])
            await timed(out, "read", http.get(path, headers=h), (200,))
        elif roll < 0.90:
            now = datetime.now(UTC)
            batch = [
                {
                    "vehicle_id": random.choice(vans),
                    "lng": 77.5 + random.random() / 10,
                    "lat": 12.9 + random.random() / 10,
                    "recorded_at": (now - timedelta(milliseconds=i)).isoformat(),
                }
                for i in range(20)
            ]
            response = await timed(
                out,
                "gps_batch",
                http.post("/api/v1/tracking/batch", json={"positions": batch}, headers=h),
                (201,),
            )
            if response is not None and response.status_code == 201:
                for position in batch:
                    out.acknowledged.add((position["vehicle_id"], position["recorded_at"]))
        elif route_id is None or time.monotonic() - job_started > 20:
            stops = random.sample(world["stops"], 12)
            body = {
                "name": f"soak {n}",
                "depot_location_id": world["depot"],
                "stops": [
                    {"location_id": s, "load_kg": 10, "service_time_minutes": 3} for s in stops
                ],
            }
            created = await timed(
                out, "optimize", http.post("/api/v1/routes", json=body, headers=h), (201,)
            )
            if created is not None and created.status_code == 201:
                route_id = created.json()["data"]["id"]
                job_started = time.monotonic()
                await timed(
                    out,
                    "optimize",
                    http.post(
                        f"/api/v1/routes/{route_id}/optimize", json={"time_limit_s": 1}, headers=h
                    ),
                    (200, 202),
                )
        await asyncio.sleep(random.uniform(0.05, 0.25))


async def socket_loop(base: str, world: dict[str, Any], out: Outcomes, until: float) -> None:
    token = world["headers"]["Authorization"].split()[1]
    async with httpx.AsyncClient(base_url=base, timeout=30) as http:
        while time.monotonic() < until:
            try:
                async with aconnect_ws(f"/ws/tracking?token={token}&batch=true", http) as ws:
                    while time.monotonic() < until:
                        with contextlib.suppress(TimeoutError):
                            await ws.receive_text(timeout=1)
                            out.socket_messages += 1
            except Exception:
                out.socket_reconnects += 1
                await asyncio.sleep(1)


async def faults(
    procs: Processes, redis_cmd: list[str], out: Outcomes, duration: float, down_s: float
) -> None:
    await asyncio.sleep(duration / 3)
    worker = procs.procs["worker-a"]
    victims = [p for p in descendants(worker.pid)]
    if victims:
        started = time.monotonic()
        os.kill(victims[0], signal.SIGKILL)
        out.windows.append((started, started + 1))
    await asyncio.sleep(duration / 3)
    redis = procs.procs["redis"]
    started = time.monotonic()
    redis.terminate()
    redis.wait()
    await asyncio.sleep(down_s)
    procs.start("redis", redis_cmd, dict(os.environ))
    out.windows.append((started, time.monotonic()))


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def verify(
    database: str, world: dict[str, Any], out: Outcomes, redis_url: str
) -> dict[str, Any]:
    import asyncpg

    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", world["workspace"]
            )
            stored = {
                (str(r["vehicle_id"]), r["recorded_at"])
                for r in await conn.fetch(
                    "SELECT vehicle_id, recorded_at FROM live_vehicle_positions"
                )
            }
            events = {str(r["id"]) for r in await conn.fetch("SELECT id FROM analytics_events")}
            jobs = await conn.fetch(
                "SELECT status::text AS s, count(*) AS n FROM optimization_jobs GROUP BY 1"
            )
    finally:
        await conn.close()
    acknowledged = {(v, datetime.fromisoformat(t)) for v, t in out.acknowledged}
    redis = Redis.from_url(redis_url)
    streamed: set[str] = set()
    async for key in redis.scan_iter("events:*"):
        for _, fields in await redis.xrange(key):
            streamed.add(json.loads(fields[b"event"])["event_id"])
    await redis.aclose()
    return {
        "positions_acknowledged": len(acknowledged),
        "positions_lost": len(acknowledged - stored),
        "events_committed": len(events),
        "events_not_streamed": len(events - streamed),
        "jobs": {r["s"]: r["n"] for r in jobs},
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True)
    parser.add_argument("--duration", type=float, default=600)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--redis-down", type=float, default=10)
    parser.add_argument("--settle", type=float, default=30)
    args = parser.parse_args()
    await prepare_database(args.database)
    logs = Path(tempfile.mkdtemp(prefix="omniroute-soak-"))
    procs = Processes(logs)
    redis_port, api_port = free_port(), free_port()
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    redis_cmd = [
        "redis-server",
        "--port",
        str(redis_port),
        "--bind",
        "127.0.0.1",
        "--dir",
        str(logs),
        "--appendonly",
        "yes",
        "--save",
        "",
    ]
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(args.database),
        "REDIS_URL": redis_url,
        "ENVIRONMENT": "test",
        "PORT": str(api_port),
        "RATE_LIMIT_USER_PER_MIN": "1000000",
        "RATE_LIMIT_WORKSPACE_PER_MIN": "1000000",
        "dramatiq_worker_timeout": "100",
        **FAST_RECOVERY,
    }
    worker = [
        sys.executable,
        "-m",
        "dramatiq",
        "tasks.worker",
        "--processes",
        "1",
        "--threads",
        "2",
    ]
    try:
        procs.start("redis", redis_cmd, dict(os.environ))
        await asyncio.sleep(0.5)
        procs.start("api", [sys.executable, "app.py"], env)
        procs.start("worker-a", worker, env)
        procs.start("worker-b", worker, env)
        base = f"http://127.0.0.1:{api_port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            await wait_ready(http)
            await asyncio.sleep(5)  # the workers' imports
            world = await setup(http, args.clients)
            memory_start = procs.memory()
            out = Outcomes(time.monotonic())
            until = time.monotonic() + args.duration
            await asyncio.gather(
                *(client_loop(http, world, out, n, until) for n in range(args.clients)),
                *(socket_loop(base, world, out, until) for _ in range(args.clients)),
                faults(procs, redis_cmd, out, args.duration, args.redis_down),
            )
            await asyncio.sleep(args.settle)  # jobs finish, flushes land
            memory_end = procs.memory()
        report: dict[str, Any] = {
            "duration_s": args.duration,
            "clients": args.clients,
            "operations": {},
        }
        for op, calls in sorted(out.calls.items()):
            outside = [c for c in calls if not out.in_window(c[0], args.settle)]
            report["operations"][op] = {
                "requests": len(calls),
                "errors_outside_faults": sum(not ok for _, _, ok in outside),
                "error_rate_outside_faults": round(
                    sum(not ok for _, _, ok in outside) / max(1, len(outside)), 5
                ),
                "errors_in_fault_windows": sum(
                    not ok for c in calls if out.in_window(c[0], args.settle) for ok in [c[2]]
                ),
                "p50_ms": round(
                    1000 * statistics.median([t for _, t, ok in outside if ok] or [0]), 1
                ),
                "p99_ms": round(1000 * percentile([t for _, t, ok in outside if ok], 0.99), 1),
            }
        report["live_map"] = {"messages": out.socket_messages, "reconnects": out.socket_reconnects}
        report["memory_kb"] = {"start": memory_start, "end": memory_end}
        report.update(await verify(args.database, world, out, redis_url))
        print(json.dumps(report, indent=2))
    finally:
        procs.stop()
        print(f"logs in {logs}", file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main())
