"""The request floor: the project's cheapest reads next to bare Starlette and plain Strawberry,
side by side in one run, each on one uvicorn process (uvloop, httptools) driven by wrk.

    .venv/bin/python bench/api_floor.py                     # wrk -t1 -c32 -d8s, best of 2
    .venv/bin/python bench/api_floor.py --duration 5 --rounds 1 --json

Needs `wrk` (apt-get install wrk). Works in its own database (default omniroute_bench_floor,
recreated from the PostGIS template and migrated each run) and Redis database (default 1,
flushed at start). Seeds one workspace: an admin, 100 vehicles, each with a driver who is a
user of the workspace. The project runs with its defaults (LOG_LEVEL and all), rate limits
lifted.

Cases:
- starlette: GET a small JSON body (the framework's floor);
- strawberry: the vehicles query below over 10 items held in memory (Strawberry's floor);
- rest one: GET /api/v1/vehicles/{id} (authenticated, one vehicle under RLS);
- rest list 50: GET /api/v1/vehicles?per_page=50;
- graphql 10 / graphql 100: `vehicles(first: N) { edges { node { id plateNumber status
  driver { id licenseNumber user { id fullName } } } } }`.

Rounds interleave the cases (each server stays up for the whole run) and each case keeps
its best round. Per case: requests per second, p50/p99 latency, PostgreSQL statements and
round trips per request (counted in the API process, bench/_floor_project.py), CPU per
request of the server process and of PostgreSQL (the backends connected to the bench
database) from /proc, and the share of the machine's CPU time that the hypervisor gave to
other guests during that round (steal). The machine's load average is printed with the
figures: compare ratios within a run, and only runs with little steal.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from _common import ROOT, free_port, owner_url, prepare_database, redis_db_url, stop

from core.passwords import hash_password

PASSWORD = "bench floor password 1"
GRAPHQL = (
    "query Floor($first: Int!) { vehicles(first: $first) { edges { node { id plateNumber"
    " status driver { id licenseNumber user { id fullName } } } } } }"
)
TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(slots=True)
class Result:
    case: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    errors: int
    statements_per_request: float | None = None
    round_trips_per_request: float | None = None
    api_cpu_ms_per_request: float | None = None
    postgres_cpu_ms_per_request: float | None = None
    # The share of the machine's CPU time the hypervisor gave to others during the round.
    steal_pct: float = 0.0


# --- seeding --------------------------------------------------------------------------------


async def seed(database: str, vehicles: int) -> tuple[str, list[str]]:
    """One workspace with an admin and `vehicles` vehicles, each with a driver; the admin's
    email and the vehicle ids."""
    org, workspace, admin = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    email = f"floor-{admin.hex[:8]}@example.com"
    password = hash_password(PASSWORD)
    conn = await asyncpg.connect(owner_url(database))
    vehicle_ids = [uuid.uuid4() for _ in range(vehicles)]
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true),"
                " set_config('app.current_organization_id', $2, true)",
                str(workspace),
                str(org),
            )
            await conn.execute(
                "INSERT INTO organizations (id, name, slug) VALUES ($1, 'Floor', $2)",
                org,
                f"floor-{org.hex[:8]}",
            )
            await conn.execute(
                "INSERT INTO workspaces (id, organization_id, name, region, active_mode)"
                " VALUES ($1, $2, 'Main', 'eu-west', 'logistics')",
                workspace,
                org,
            )
            await conn.execute(
                "INSERT INTO users (id, workspace_id, email, password_hash, full_name, role,"
                " status) VALUES ($1, $2, $3, $4, 'Floor Admin', 'admin', 'active')",
                admin,
                workspace,
                email,
                password,
            )
            await conn.executemany(
                "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, status,"
                " last_location, last_location_at) VALUES ($1, $2, 'van', $3, 'available',"
                " ST_SetSRID(ST_MakePoint(13.4 + $4 / 1000.0, 52.5), 4326)::geography, now())",
                [(v, workspace, f"FL {i:04d}", float(i)) for i, v in enumerate(vehicle_ids)],
            )
            users = [uuid.uuid4() for _ in vehicle_ids]
            await conn.executemany(
                "INSERT INTO users (id, workspace_id, email, password_hash, full_name, role,"
                " status) VALUES ($1, $2, $3, $4, $5, 'driver', 'active')",
                [
                    (u, workspace, f"driver-{i}-{u.hex[:6]}@example.com", password, f"Driver {i}")
                    for i, u in enumerate(users)
                ],
            )
            await conn.executemany(
                "INSERT INTO drivers (workspace_id, user_id, vehicle_id, license_number)"
                " VALUES ($1, $2, $3, $4)",
                [
                    (workspace, u, v, f"DL-{i:06d}")
                    for i, (u, v) in enumerate(zip(users, vehicle_ids, strict=True))
                ],
            )
        await conn.execute("VACUUM (ANALYZE) vehicles, drivers, users")
    finally:
        await conn.close()
    return email, [str(v) for v in vehicle_ids]


# --- processes and their CPU ----------------------------------------------------------------


def cpu_ticks(pid: int) -> int:
    """User plus system CPU of one process, in clock ticks (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0
    return int(fields[11]) + int(fields[12])


def steal_ticks() -> tuple[int, int]:
    """(stolen, all) CPU ticks of the machine so far, from /proc/stat: on a virtual machine
    a round whose CPUs were partly given to other guests says so."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[7], sum(fields[:8])


async def backend_pids(database: str) -> list[int]:
    conn = await asyncpg.connect(owner_url("postgres"))
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            database,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


@contextlib.asynccontextmanager
async def serving(argv: list[str], port: int, env: dict[str, str]) -> AsyncIterator[int]:
    """A server process on `port` until the block ends; its pid."""
    with tempfile.TemporaryFile() as log:
        server = await asyncio.create_subprocess_exec(
            *argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            deadline = time.monotonic() + 60
            async with httpx.AsyncClient(trust_env=False, timeout=5) as client:
                while True:
                    if server.returncode is not None or time.monotonic() > deadline:
                        log.seek(0)
                        sys.stderr.write(log.read().decode(errors="replace")[-4000:])
                        raise SystemExit(f"{argv} did not start")
                    try:
                        await client.get(f"http://127.0.0.1:{port}/")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.2)
            yield server.pid
        finally:
            await stop(server)


def toy(name: str, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        f"_floor_toys:{name}",
        "--app-dir",
        str(ROOT / "bench"),
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--no-access-log",
        "--log-level",
        "warning",
    ]


# --- wrk ------------------------------------------------------------------------------------

_LATENCY = re.compile(r"^\s*(50|99)%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def wrk_script(method: str, body: str | None, headers: dict[str, str]) -> str:
    lines = [f'wrk.method = "{method}"']
    for name, value in headers.items():
        lines.append(f'wrk.headers["{name}"] = "{value}"')
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    return "\n".join(lines) + "\n"


async def wrk(
    url: str, script: str, *, connections: int, duration_s: int
) -> tuple[float, float, float, int]:
    """(requests/s, p50 ms, p99 ms, non-2xx and socket errors) of one wrk run."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(script)
    try:
        proc = await asyncio.create_subprocess_exec(
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{duration_s}s",
            "--latency",
            "-s",
            lua.name,
            url,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        out = (await proc.communicate())[0].decode()
    finally:
        os.unlink(lua.name)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise SystemExit(f"wrk failed:\n{out}")
    latency = {q: float(v) * _UNITS[u] for q, v, u in _LATENCY.findall(out)}
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", out))
    for socket_errors in re.findall(r"Socket errors:(.*)", out):
        errors += sum(int(n) for n in re.findall(r"\d+", socket_errors))
    return float(rate.group(1)), latency["50"], latency["99"], errors


# --- the run --------------------------------------------------------------------------------


@dataclass(slots=True)
class Case:
    name: str
    url: str
    script: str
    project: bool


async def measure(
    case: Case, pid: int, args: argparse.Namespace, sql_url: str | None, duration: int
) -> Result:
    """One wrk round of `case` with the CPU its server (and PostgreSQL) spent on it."""
    pids = await backend_pids(args.database) if case.project else []
    before_api, before_pg = cpu_ticks(pid), {p: cpu_ticks(p) for p in pids}
    before_sql = await sql_counts(sql_url) if sql_url else None
    stolen_before, all_before = steal_ticks()
    rate, p50, p99, errors = await wrk(
        case.url, case.script, connections=args.connections, duration_s=duration
    )
    stolen_after, all_after = steal_ticks()
    api_ticks = cpu_ticks(pid) - before_api
    total = rate * duration
    result = Result(case.name, rate, p50, p99, errors)
    result.steal_pct = 100 * (stolen_after - stolen_before) / max(1, all_after - all_before)
    result.api_cpu_ms_per_request = api_ticks * 1000 / TICKS / total
    if case.project and sql_url and before_sql:
        after_sql = await sql_counts(sql_url)
        # The counts include the requests wrk sent but did not wait for: a few in 10^4.
        result.statements_per_request = (after_sql["statements"] - before_sql["statements"]) / total
        result.round_trips_per_request = (
            after_sql["round_trips"] - before_sql["round_trips"]
        ) / total
        now = await backend_pids(args.database)
        pg_ticks = sum(cpu_ticks(p) - before_pg.get(p, 0) for p in set(now) | set(pids))
        result.postgres_cpu_ms_per_request = pg_ticks * 1000 / TICKS / total
    return result


async def sql_counts(url: str) -> dict[str, int]:
    async with httpx.AsyncClient(trust_env=False) as client:
        counts: dict[str, int] = (await client.get(url)).json()
    return counts


async def login(base: str, email: str) -> str:
    async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=30) as client:
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        response.raise_for_status()
        token: str = response.json()["data"]["access_token"]
        # Check each case answers before timing it.
        return token


@dataclass(slots=True)
class Served:
    """A case with the server that answers it."""

    case: Case
    pid: int
    sql_url: str | None


async def run(args: argparse.Namespace) -> list[Result]:
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    await prepare_database(args.database)
    email, vehicle_ids = await seed(args.database, 100)
    redis_url = redis_db_url(args.redis_db)
    import redis.asyncio as aioredis

    client = aioredis.from_url(redis_url)
    await client.flushdb()
    await client.aclose()

    async with contextlib.AsyncExitStack() as servers:
        served: list[Served] = []
        port = free_port()
        pid = await servers.enter_async_context(
            serving(toy("starlette_app", port), port, dict(os.environ))
        )
        case = Case(
            "starlette", f"http://127.0.0.1:{port}/json", wrk_script("GET", None, {}), False
        )
        served.append(Served(case, pid, None))

        gql_headers = {"Content-Type": "application/json"}
        port = free_port()
        pid = await servers.enter_async_context(
            serving(toy("strawberry_app", port), port, dict(os.environ))
        )
        body = json.dumps({"query": GRAPHQL, "variables": {"first": 10}})
        case = Case(
            "strawberry 10",
            f"http://127.0.0.1:{port}/graphql",
            wrk_script("POST", body, gql_headers),
            False,
        )
        served.append(Served(case, pid, None))

        port = free_port()
        env = {
            **os.environ,
            "DATABASE_URL": owner_url(args.database),
            "REDIS_URL": redis_url,
            "ENVIRONMENT": "development",
            "RATE_LIMIT_USER_PER_MIN": "1000000000",
            "RATE_LIMIT_WORKSPACE_PER_MIN": "1000000000",
            "ACCESS_TOKEN_TTL_S": "3600",
        }
        env.pop("APP_DATABASE_URL", None)
        argv = [sys.executable, str(ROOT / "bench" / "_floor_project.py"), str(port)]
        pid = await servers.enter_async_context(serving(argv, port, env))
        base = f"http://127.0.0.1:{port}"
        token = await login(base, email)
        auth = {"Authorization": f"Bearer {token}"}
        cases = [
            Case(
                "rest one",
                f"{base}/api/v1/vehicles/{vehicle_ids[0]}",
                wrk_script("GET", None, auth),
                True,
            ),
            Case(
                "rest list 50",
                f"{base}/api/v1/vehicles?per_page=50",
                wrk_script("GET", None, auth),
                True,
            ),
        ]
        for first in (10, 100):
            body = json.dumps({"query": GRAPHQL, "variables": {"first": first}})
            cases.append(
                Case(
                    f"graphql {first}",
                    f"{base}/graphql",
                    wrk_script("POST", body, {**auth, **gql_headers}),
                    True,
                )
            )
        # Check each case answers before timing it.
        async with httpx.AsyncClient(trust_env=False, timeout=30) as check:
            for case in cases:
                method = "POST" if case.name.startswith("graphql") else "GET"
                body_match = re.search(r"wrk.body = (.*)", case.script)
                content = json.loads(body_match.group(1)) if body_match else None
                answer = await check.request(
                    method, case.url, headers={**auth, **gql_headers}, content=content
                )
                if answer.status_code != 200 or "errors" in answer.json():
                    raise SystemExit(f"{case.name}: {answer.status_code} {answer.text[:500]}")
        served += [Served(case, pid, f"{base}/__floor/sql") for case in cases]

        for each in served:
            await wrk(each.case.url, each.case.script, connections=args.connections, duration_s=1)
        # Rounds interleave the cases, so that a slow spell of the machine (another guest on
        # the host, say) falls on all of them alike; each case keeps its best round.
        best: dict[str, Result] = {}
        for round_ in range(args.rounds):
            for each in served:
                quick = args.quick_reference and not each.case.project
                if quick and round_ > 0:
                    continue
                duration = 2 if quick else args.duration
                result = await measure(each.case, each.pid, args, each.sql_url, duration)
                kept = best.get(each.case.name)
                if kept is None or result.requests_per_s > kept.requests_per_s:
                    best[each.case.name] = result
    return [best[each.case.name] for each in served]


def report(results: list[Result], args: argparse.Namespace) -> str:
    floor = {r.case: r.requests_per_s for r in results}
    lines = [
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average {os.getloadavg()[0]:.2f}"
        f" on {os.cpu_count()} CPUs; wrk -t1 -c{args.connections} -d{args.duration}s,"
        f" best of {args.rounds}",
        "",
        "| case | req/s | vs starlette | p50 ms | p99 ms | SQL stmts/req | round trips/req"
        " | API CPU ms/req | PG CPU ms/req | steal % | errors |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def fmt(value: float | None, digits: int = 2) -> str:
        return "" if value is None else f"{value:.{digits}f}"

    for r in results:
        lines.append(
            f"| {r.case} | {r.requests_per_s:,.0f} | {r.requests_per_s / floor['starlette']:.1%}"
            f" | {r.p50_ms:.1f} | {r.p99_ms:.1f} | {fmt(r.statements_per_request)}"
            f" | {fmt(r.round_trips_per_request)} | {fmt(r.api_cpu_ms_per_request, 3)}"
            f" | {fmt(r.postgres_cpu_ms_per_request, 3)} | {r.steal_pct:.1f} | {r.errors} |"
        )
    if "graphql 10" in floor:
        lines.append("")
        lines.append(
            f"graphql 10 / strawberry 10: {floor['graphql 10'] / floor['strawberry 10']:.1%};"
            f" rest one / starlette: {floor['rest one'] / floor['starlette']:.1%}"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", default="omniroute_bench_floor")
    parser.add_argument("--redis-db", type=int, default=1)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument(
        "--quick-reference",
        action="store_true",
        help="one 2 s round of each reference server (when comparing project changes)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = asyncio.run(run(args))
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    print(report(results, args))


if __name__ == "__main__":
    main()
