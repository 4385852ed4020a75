"""The GraphQL read path against a plain Strawberry app, side by side in one run.

    .venv/bin/python bench/graphql_read.py
    .venv/bin/python bench/graphql_read.py --duration 10 --connections 16

Works in its own database (default omniroute_bench_live: recreated from the PostGIS template
and migrated on every run) and its own Redis database (default 13, flushed at start).
Starts `python app.py` (one API process) and, after it, the toy: a Strawberry app (with its
parser and validation caches, as ours) on a bare Starlette route, in one uvicorn process,
answering the same shape from memory. Both answer `vehicles(first: 10)` with each vehicle's
driver and the driver's user; each is loaded alone, by --connections keep-alive clients in
closed loop for --duration seconds, after a warm-up. The target: ours at 50 % or more of the
toy's requests per second.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import httpx  # noqa: E402
import orjson  # noqa: E402
from _common import free_port, prepare_database, redis_db_url, wait_ready  # noqa: E402
from _live_setup import (  # noqa: E402
    PASSWORD,
    ApiServers,
    RawHttp,
    add_common_arguments,
    check_common_arguments,
    create_fleet,
    flush_redis,
    log,
    machine_note,
    percentile,
    run_main,
)

QUERY = (
    "{ vehicles(first: 10) { edges { node { id plateNumber status"
    " driver { id licenseNumber user { id email fullName } } } } } }"
)
TARGET_RATIO = 0.5
TOY = Path(__file__).resolve().parent / "_toy_graphql.py"


def tag(message: str) -> None:
    log("graphql-read", message)


@dataclass(slots=True)
class Load:
    name: str
    requests: int = 0
    failed: int = 0
    wall_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s if self.wall_s else 0.0

    def summary(self) -> dict[str, Any]:
        ordered = sorted(self.latencies_ms)
        return {
            "name": self.name,
            "requests": self.requests,
            "failed": self.failed,
            "rps": round(self.rps, 1),
            "p50_ms": round(percentile(ordered, 50), 2),
            "p99_ms": round(percentile(ordered, 99), 2),
        }


async def load(name: str, url: str, token: str, connections: int, duration_s: float) -> Load:
    body = orjson.dumps({"query": QUERY})
    result = Load(name)
    clients = [RawHttp(url, token) for _ in range(connections)]
    status, reply = await clients[0].post("/graphql", body)
    if status != 200 or b'"errors"' in reply:
        raise RuntimeError(f"{name}: {status} {reply[:300]!r}")
    edges = orjson.loads(reply)["data"]["vehicles"]["edges"]
    if len(edges) != 10 or any(e["node"]["driver"] is None for e in edges):
        raise RuntimeError(f"{name}: expected 10 vehicles with drivers, got {reply[:300]!r}")
    stop = 0.0
    counting = False

    async def one(http: RawHttp) -> None:
        while time.perf_counter() < stop:
            started = time.perf_counter()
            status, _ = await http.post("/graphql", body)
            if counting:
                result.requests += 1
                result.latencies_ms.append((time.perf_counter() - started) * 1000)
                if status != 200:
                    result.failed += 1

    stop = time.perf_counter() + 2.0  # warm-up
    await asyncio.gather(*(one(c) for c in clients))
    counting = True
    started = time.perf_counter()
    stop = started + duration_s
    await asyncio.gather(*(one(c) for c in clients))
    result.wall_s = time.perf_counter() - started
    for http in clients:
        await http.close()
    return result


async def add_drivers(base_url: str, token: str, workspace_id: str, vehicle_ids: list[str]) -> None:
    """A member with a driver profile on each of the first ten vehicles."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:
        for n, vehicle_id in enumerate(vehicle_ids[:10]):
            invited = await client.post(
                f"/api/v1/workspaces/{workspace_id}/members",
                json={
                    "email": f"driver-{n}@example.com",
                    "full_name": f"Driver {n}",
                    "role": "driver",
                },
                headers=headers,
            )
            invited.raise_for_status()
            accepted = await client.post(
                "/api/v1/auth/accept-invitation",
                json={"token": invited.json()["data"]["token"], "password": PASSWORD},
            )
            accepted.raise_for_status()
            user_id = accepted.json()["data"]["user"]["id"]
            made = await client.post(
                "/api/v1/drivers",
                json={
                    "user_id": user_id,
                    "license_number": f"KA-{n:04d}",
                    "vehicle_id": vehicle_id,
                },
                headers=headers,
            )
            made.raise_for_status()


async def run(args: argparse.Namespace) -> dict[str, Any]:
    tag(f"preparing {args.database}")
    await prepare_database(args.database)
    redis_url = redis_db_url(args.redis_db)
    await flush_redis(redis_url)
    servers = ApiServers(args.database, redis_url, env=dict(args.api_env), profile=args.profile_api)
    loads: list[Load] = []
    toy: asyncio.subprocess.Process | None = None
    try:
        servers.start(1)
        await servers.wait_ready()
        base = servers.urls[0]
        fleet = await create_fleet(base, max(10, args.vehicles), "read")
        await add_drivers(base, fleet.token, fleet.workspace_id, fleet.vehicle_ids)
        tag(f"ours: {args.connections} connections for {args.duration:g} s")
        loads.append(await load("omniroute", base, fleet.token, args.connections, args.duration))
        port = free_port()
        toy = await asyncio.create_subprocess_exec(
            sys.executable, str(TOY), str(port), env=os.environ.copy(), cwd=TOY.parent
        )
        toy_url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=toy_url, trust_env=False) as client:
            await wait_ready(client, toy)
        tag(f"toy: {args.connections} connections for {args.duration:g} s")
        loads.append(await load("toy", toy_url, "none", args.connections, args.duration))
    except Exception:
        sys.stderr.write(servers.tail() + "\n")
        raise
    finally:
        if toy is not None and toy.returncode is None:
            toy.terminate()
            await asyncio.wait_for(toy.wait(), 10)
        servers.stop()
    ours, plain = loads
    ratio = ours.rps / plain.rps if plain.rps else 0.0
    return {
        "machine": machine_note(),
        "query": QUERY,
        "connections": args.connections,
        "duration_s": args.duration,
        "ours": ours.summary(),
        "toy": plain.summary(),
        "ratio": round(ratio, 3),
        "met": ratio >= TARGET_RATIO and ours.failed == 0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "LOG_LEVEL=WARNING")
    parser.add_argument("--duration", type=float, default=10.0, help="timed s per app")
    parser.add_argument("--connections", type=int, default=8, help="keep-alive clients")
    args = parser.parse_args()
    if args.duration <= 0 or args.connections < 1:
        parser.error("--duration > 0, --connections >= 1")
    check_common_arguments(parser, args)
    report = asyncio.run(run(args))
    if args.json:
        print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
        return
    m = report["machine"]
    print(
        f"\nGraphQL read path on {m['cores']} cores (load average {m['load_avg_1m_at_start']}"
        f" at start), {report['connections']} connections, {report['duration_s']:g} s each:"
    )
    for key in ("ours", "toy"):
        s = report[key]
        print(
            f"  {s['name']:<10} {s['rps']:>8,.1f} req/s  p50 {s['p50_ms']:.1f} ms"
            f"  p99 {s['p99_ms']:.1f} ms  failed {s['failed']}"
        )
    print(
        f"  ratio {report['ratio']:.2f} (target >= {TARGET_RATIO:.2f}):"
        f" {'MET' if report['met'] else 'NOT MET'}"
    )


if __name__ == "__main__":
    run_main(main)
