"""Fleet-scale latency: nearby search, first list page, GraphQL list with relations.

    nice -n 5 .venv/bin/python bench/spatial.py                # 10 workspaces x 100k + 100k
    .venv/bin/python bench/spatial.py --scale 0.05 --iterations 100   # quick look
    .venv/bin/python bench/spatial.py --json                   # figures as JSON

Works in its own database (default omniroute_bench_spatial: cloned from the PostGIS template,
migrated, seeded once per size and reused), times the service layer in-process and the HTTP
API on a loopback uvicorn it starts and stops, and prints the EXPLAIN plans of the nearby
queries as the application role.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg
import httpx
from _common import (
    DROPPABLE_PREFIX,
    POSTGIS_TEMPLATE,
    migrate,
    owner_url,
    percentile,
    quote_ident,
    redis_db_url,
    served_api,
    timed_calls,
)
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import MemberCheck
from core.pagination import CursorRequest, PageRequest
from core.passwords import hash_password
from core.principal import Principal
from core.runtime import Runtime
from core.settings import Settings, get_settings
from dataloaders import DataLoaders
from models.enums import VehicleStatus
from models.fleet_inputs import NearbyQuery
from services.fleet import locations, vehicles

DEFAULT_DATABASE = "omniroute_bench_spatial"
WORKSPACES = 10
FULL_SIZE = 100_000
FULL_DRIVERS = 1_000
RADIUS_M = 5_000.0
NEARBY_LIMIT = 10
TARGET_SERVICE_P99_MS = 10.0
TARGET_HTTP_P99_MS = 25.0
ADMIN_EMAIL = "bench-admin@example.com"
ADMIN_PASSWORD = "bench-spatial-password"
NAMESPACE = UUID("6f1d8c52-3a47-4f5e-9b0e-5d2c1a9e7b31")

# Bengaluru (lng, lat), fleets within +-0.25 deg (~55 x 55 km); 70 % of points cluster
# around commercial hubs, the rest is uniform, so density varies as in a real city.
CENTRE = (77.5946, 12.9716)
SPREAD_DEG = 0.25
HUBS = ((0.0, 0.0), (0.16, -0.02), (0.07, -0.13), (-0.08, 0.05), (0.0, 0.07), (0.03, -0.04))
AREAS = (
    "Indiranagar",
    "Koramangala",
    "Whitefield",
    "Electronic City",
    "Peenya",
    "Hebbal",
    "Jayanagar",
    "Yelahanka",
    "Marathahalli",
    "Banashankari",
)
VEHICLE_TYPES = (
    ("motorbike", 30, (20, 40), ("petrol", "electric")),
    ("van", 25, (800, 1_500), ("diesel", "cng", "electric")),
    ("car", 15, (300, 500), ("petrol", "cng", "hybrid")),
    ("truck", 15, (5_000, 16_000), ("diesel",)),
    ("cargo_bike", 10, (100, 250), ("electric",)),
    ("bus", 5, (3_000, 5_000), ("diesel", "cng")),
)
VEHICLE_STATUSES = (("available", 45), ("in_transit", 35), ("maintenance", 8), ("offline", 12))
LOCATION_TYPES = (
    ("customer", 60),
    ("restaurant", 10),
    ("market", 5),
    ("warehouse", 5),
    ("station", 5),
    ("checkpoint", 5),
    ("custom", 5),
    ("hospital", 3),
    ("depot", 2),
)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

GRAPHQL_QUERY = """query($first: Int!) {
  vehicles(first: $first, filter: {status: IN_TRANSIT}) {
    edges { node { plateNumber driver { licenseNumber user { email } } } }
  }
}"""


@dataclass(frozen=True, slots=True)
class Tenant:
    index: int
    organization_id: UUID
    workspace_id: UUID

    @classmethod
    def of(cls, index: int) -> Tenant:
        return cls(
            index, uuid.uuid5(NAMESPACE, f"org-{index}"), uuid.uuid5(NAMESPACE, f"ws-{index}")
        )


PRIMARY = Tenant.of(0)
ADMIN_ID = uuid.uuid5(NAMESPACE, "admin")


@dataclass(frozen=True, slots=True)
class Size:
    per_workspace: int
    drivers: int
    seed: int

    @classmethod
    def scaled(cls, scale: float, seed: int) -> Size:
        n = max(100, round(FULL_SIZE * scale))
        return cls(n, min(n // 10, max(100, round(FULL_DRIVERS * scale))), seed)


@dataclass(slots=True)
class Stats:
    layer: str
    name: str
    samples: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_rows: float
    target_p99_ms: float | None = None

    @property
    def met(self) -> bool | None:
        return None if self.target_p99_ms is None else self.p99_ms < self.target_p99_ms


@dataclass(slots=True)
class Explained:
    name: str
    plan_kind: str  # "custom" (parameter values known) or "generic" (the cached plan)
    index: str
    index_used: bool
    jit: bool
    plan: str


@dataclass(slots=True)
class Report:
    database: str
    size: Size
    seeded_now: bool
    seed_s: float | None
    results: list[Stats] = field(default_factory=list)
    explains: list[Explained] = field(default_factory=list)
    plan_cache: list[dict[str, Any]] = field(default_factory=list)


# --- the database ---------------------------------------------------------------------------


async def read_marker(database: str) -> dict[str, Any] | None:
    """What a finished seeding recorded in the primary organization, or None."""
    try:
        conn = await asyncpg.connect(owner_url(database))
    except asyncpg.InvalidCatalogNameError:
        return None
    try:
        async with conn.transaction():
            await set_tenant(conn, PRIMARY)
            raw = await conn.fetchval(
                "SELECT settings->'bench_spatial' FROM organizations WHERE id = $1",
                PRIMARY.organization_id,
            )
    except asyncpg.PostgresError:
        return None
    finally:
        await conn.close()
    return json.loads(raw) if raw else None


async def prepare_database(database: str, size: Size, reseed: bool) -> tuple[bool, float | None]:
    """(seeded now, seeding seconds): reuse a database seeded with the same size, else build it."""
    marker = None if reseed else await read_marker(database)
    if marker is not None and marker.get("size") == asdict(size):
        # Reused data still gets migrations added since it was seeded.
        await migrate(database)
        return False, marker.get("seed_s")
    maintenance = await asyncpg.connect(owner_url("postgres"))
    try:
        if await maintenance.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database):
            if not database.startswith(DROPPABLE_PREFIX):
                raise SystemExit(
                    f"{database} exists but is not seeded for this size; only databases named"
                    f" {DROPPABLE_PREFIX}* are dropped and rebuilt"
                )
            log(f"dropping {database} (different size, unfinished seeding or --reseed)")
            await maintenance.execute(f"DROP DATABASE {quote_ident(database)} WITH (FORCE)")
        await maintenance.execute(
            f"CREATE DATABASE {quote_ident(database)} TEMPLATE {quote_ident(POSTGIS_TEMPLATE)}"
        )
    finally:
        await maintenance.close()
    started = time.perf_counter()
    await migrate(database)
    await seed(database, size)
    seed_s = time.perf_counter() - started
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await set_tenant(conn, PRIMARY)
            await conn.execute(
                "UPDATE organizations SET settings = settings || jsonb_build_object("
                "'bench_spatial', $2::jsonb) WHERE id = $1",
                PRIMARY.organization_id,
                json.dumps({"size": asdict(size), "seed_s": round(seed_s, 1)}),
            )
    finally:
        await conn.close()
    return True, seed_s


async def set_tenant(conn: asyncpg.Connection, tenant: Tenant) -> None:
    await conn.execute(
        "SELECT set_config('app.current_workspace_id', $1, true),"
        " set_config('app.current_organization_id', $2, true)",
        str(tenant.workspace_id),
        str(tenant.organization_id),
    )


# --- seeding --------------------------------------------------------------------------------

# COPY FROM refuses tables under row-level security (forced here even for the owner), so
# rows are copied into a temporary table and moved with one INSERT ... SELECT, which the
# tenant policy checks like any other insert.
STAGE_VEHICLES = """CREATE TEMP TABLE stage_vehicles (
    id uuid, workspace_id uuid, vehicle_type text, plate_number text, capacity_kg int,
    capacity_volume_m3 float8, status text, fuel_type text, max_range_km float8,
    lng float8, lat float8, last_location_at timestamptz, created_at timestamptz
) ON COMMIT DROP"""
MOVE_VEHICLES = """INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, capacity_kg,
    capacity_volume_m3, status, fuel_type, max_range_km, last_location, last_location_at,
    created_at, updated_at)
SELECT id, workspace_id, vehicle_type, plate_number, capacity_kg, capacity_volume_m3,
    status::vehicle_status, fuel_type, max_range_km,
    CASE WHEN lng IS NULL THEN NULL
         ELSE ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography END,
    last_location_at, created_at, created_at
FROM stage_vehicles"""
VEHICLE_COLUMNS = (
    "id",
    "workspace_id",
    "vehicle_type",
    "plate_number",
    "capacity_kg",
    "capacity_volume_m3",
    "status",
    "fuel_type",
    "max_range_km",
    "lng",
    "lat",
    "last_location_at",
    "created_at",
)
STAGE_LOCATIONS = """CREATE TEMP TABLE stage_locations (
    id uuid, workspace_id uuid, name text, address text, location_type text,
    lng float8, lat float8, created_at timestamptz
) ON COMMIT DROP"""
MOVE_LOCATIONS = """INSERT INTO locations (id, workspace_id, name, address, location_type, geo,
    created_at, updated_at)
SELECT id, workspace_id, name, address, location_type::location_type,
    ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, created_at, created_at
FROM stage_locations"""
LOCATION_COLUMNS = (
    "id",
    "workspace_id",
    "name",
    "address",
    "location_type",
    "lng",
    "lat",
    "created_at",
)


def city_point(rng: random.Random) -> tuple[float, float]:
    if rng.random() < 0.7:
        dx, dy = rng.choice(HUBS)
        lng, lat = dx + rng.gauss(0, 0.04), dy + rng.gauss(0, 0.04)
    else:
        lng, lat = rng.uniform(-SPREAD_DEG, SPREAD_DEG), rng.uniform(-SPREAD_DEG, SPREAD_DEG)
    clamp = lambda v: max(-SPREAD_DEG, min(SPREAD_DEG, v))  # noqa: E731
    return round(CENTRE[0] + clamp(lng), 6), round(CENTRE[1] + clamp(lat), 6)


def weighted(rng: random.Random, choices: Sequence[tuple[Any, ...]]) -> tuple[Any, ...]:
    return rng.choices(choices, weights=[c[1] for c in choices])[0]


def plate(rng: random.Random, i: int) -> str:
    """Karnataka-style plate, unique per workspace for i < 6.76M: the series letters and the
    number are bijections of i (676 and 10,000 are coprime with the multipliers)."""
    series, number = divmod(i, 10_000)
    letters = divmod((series * 97 + 13) % 676, 26)
    return (
        f"KA {rng.randint(1, 70):02d} {LETTERS[letters[0]]}{LETTERS[letters[1]]}"
        f" {(number * 7919 + 1) % 10_000:04d}"
    )


def vehicle_rows(
    rng: random.Random, tenant: Tenant, n: int, now: datetime
) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(n):
        vehicle_type, _, (low, high), fuels = weighted(rng, VEHICLE_TYPES)
        status = weighted(rng, VEHICLE_STATUSES)[0]
        # Some offline vehicles never reported a position: NULLs belong in the index too.
        located = status != "offline" or rng.random() < 0.5
        lng, lat = city_point(rng) if located else (None, None)
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                tenant.workspace_id,
                vehicle_type,
                plate(rng, i),
                rng.randint(low, high),
                round(rng.uniform(0.1, 40.0), 1) if vehicle_type in ("van", "truck") else None,
                status,
                rng.choice(fuels),
                round(rng.uniform(80, 600), 0),
                lng,
                lat,
                now - timedelta(minutes=rng.expovariate(1 / 30)) if located else None,
                now - timedelta(days=rng.uniform(0, 3 * 365)),
            )
        )
    return rows


def location_rows(
    rng: random.Random, tenant: Tenant, n: int, now: datetime
) -> list[tuple[Any, ...]]:
    rows = []
    for i in range(n):
        kind = weighted(rng, LOCATION_TYPES)[0]
        area = rng.choice(AREAS)
        lng, lat = city_point(rng)
        rows.append(
            (
                uuid.UUID(int=rng.getrandbits(128), version=4),
                tenant.workspace_id,
                f"{kind.title()} {area} {i:06d}",
                f"{rng.randint(1, 400)}, {rng.randint(1, 40)}th Cross, {area}, Bengaluru",
                kind,
                lng,
                lat,
                now - timedelta(days=rng.uniform(0, 3 * 365)),
            )
        )
    return rows


async def seed_tenant(conn: asyncpg.Connection, tenant: Tenant, size: Size) -> None:
    rng = random.Random(size.seed * 1_000 + tenant.index)
    now = datetime.now(UTC)
    async with conn.transaction():
        await set_tenant(conn, tenant)
        await conn.execute(
            "INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3)",
            tenant.organization_id,
            f"Bench Fleet {tenant.index}",
            f"bench-fleet-{tenant.index}",
        )
        await conn.execute(
            "INSERT INTO workspaces (id, organization_id, name, region)"
            " VALUES ($1, $2, 'Bengaluru', 'ap-south')",
            tenant.workspace_id,
            tenant.organization_id,
        )
        fleet = vehicle_rows(rng, tenant, size.per_workspace, now)
        await conn.execute(STAGE_VEHICLES)
        await conn.copy_records_to_table("stage_vehicles", records=fleet, columns=VEHICLE_COLUMNS)
        await conn.execute(MOVE_VEHICLES)
        await conn.execute(STAGE_LOCATIONS)
        await conn.copy_records_to_table(
            "stage_locations",
            records=location_rows(rng, tenant, size.per_workspace, now),
            columns=LOCATION_COLUMNS,
        )
        await conn.execute(MOVE_LOCATIONS)
        if tenant == PRIMARY:
            await seed_people(conn, rng, fleet, size.drivers)


async def seed_people(
    conn: asyncpg.Connection, rng: random.Random, fleet: list[tuple[Any, ...]], drivers: int
) -> None:
    """The admin who logs in, and drivers on the oldest vehicles in transit, so that the
    GraphQL page of in-transit vehicles has a driver and a user on every row."""
    await conn.execute(
        "INSERT INTO users (id, workspace_id, email, password_hash, full_name, role, status)"
        " VALUES ($1, $2, $3, $4, 'Bench Admin', 'admin', 'active')",
        ADMIN_ID,
        PRIMARY.workspace_id,
        ADMIN_EMAIL,
        hash_password(ADMIN_PASSWORD),
    )
    moving = sorted((row for row in fleet if row[6] == "in_transit"), key=lambda r: (r[12], r[0]))
    users, profiles = [], []
    for i, vehicle in enumerate(moving[:drivers]):
        user_id = uuid.uuid5(NAMESPACE, f"driver-{i}")
        users.append((user_id, PRIMARY.workspace_id, f"driver{i:05d}@example.com", f"Driver {i}"))
        profiles.append(
            (
                PRIMARY.workspace_id,
                user_id,
                vehicle[0],
                f"KA{rng.randint(1, 70):02d} {rng.randint(2005, 2024)}{i:07d}",
                f"+91 9{rng.randint(100_000_000, 999_999_999)}",
                round(rng.uniform(3.0, 5.0), 1),
                rng.randint(0, 5_000),
            )
        )
    await conn.executemany(
        "INSERT INTO users (id, workspace_id, email, password_hash, full_name, role, status)"
        " VALUES ($1, $2, $3, '!', $4, 'driver', 'active')",
        users,
    )
    await conn.executemany(
        "INSERT INTO drivers (workspace_id, user_id, vehicle_id, license_number, phone,"
        " rating, total_trips) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        profiles,
    )


async def seed(database: str, size: Size) -> None:
    conn = await asyncpg.connect(owner_url(database))
    try:
        for index in range(WORKSPACES):
            started = time.perf_counter()
            await seed_tenant(conn, Tenant.of(index), size)
            log(f"workspace {index}: seeded in {time.perf_counter() - started:.1f} s")
        # A settled table, as autovacuum leaves it: statistics, visibility map, hint bits.
        for table in ("vehicles", "locations", "users", "drivers", "workspaces", "organizations"):
            await conn.execute(f"VACUUM (ANALYZE) {table}")
    finally:
        await conn.close()


# --- timing ---------------------------------------------------------------------------------


async def measure(
    layer: str,
    name: str,
    call: Callable[[int], Awaitable[int]],
    *,
    warmup: int,
    iterations: int,
    target_p99_ms: float | None = None,
) -> Stats:
    timings, rows = await timed_calls(call, warmup=warmup, iterations=iterations)
    stats = Stats(
        layer,
        name,
        iterations,
        percentile(timings, 0.50),
        percentile(timings, 0.95),
        percentile(timings, 0.99),
        timings[-1],
        sum(rows) / iterations,
        target_p99_ms,
    )
    log(f"{layer:8} {name}: p50 {stats.p50_ms:.2f} ms, p99 {stats.p99_ms:.2f} ms")
    return stats


def query_points(seed: int, count: int) -> list[tuple[float, float]]:
    """Random (lng, lat) inside the metro area, a little in from its edge."""
    rng = random.Random(seed ^ 0x5EED)
    inner = SPREAD_DEG * 0.8
    return [
        (CENTRE[0] + rng.uniform(-inner, inner), CENTRE[1] + rng.uniform(-inner, inner))
        for _ in range(count)
    ]


def nearby(points: list[tuple[float, float]], i: int) -> NearbyQuery:
    lng, lat = points[i % len(points)]
    return NearbyQuery(lat=lat, lng=lng, radius_m=RADIUS_M, limit=NEARBY_LIMIT)


@contextmanager
def captured(engine: AsyncEngine) -> Iterator[list[tuple[str, Any]]]:
    """The statements (and driver parameters) the engine sends while inside the block."""
    statements: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "set_config" not in statement:
            statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


async def bench_service(
    report: Report, settings: Settings, warmup: int, iterations: int
) -> dict[str, list[tuple[str, Any]]]:
    """Service-layer figures; returns the SQL each operation sent, for EXPLAIN."""
    runtime = Runtime.start(settings)
    db, ws = runtime.db, PRIMARY.workspace_id
    actor = Principal(ADMIN_ID, ws, PRIMARY.organization_id, "admin")
    points = query_points(report.size.seed, warmup + iterations)
    in_transit = vehicles.VehicleFilter(status=VehicleStatus.IN_TRANSIT)

    async def session_only(i: int) -> int:
        async with db.session(ws) as session:
            await session.connection()
        return 0

    async def vehicles_nearby(i: int) -> int:
        async with db.session(ws) as session:
            found = await vehicles.nearby_vehicles(
                session=session, actor=actor, query=nearby(points, i)
            )
        return len(found)

    async def locations_nearby(i: int) -> int:
        async with db.session(ws) as session:
            found = await locations.locations_near(
                session=session, actor=actor, query=nearby(points, i)
            )
        return len(found)

    async def vehicles_page(i: int) -> int:
        async with db.session(ws) as session:
            page = await vehicles.list_vehicles(
                session=session,
                actor=actor,
                filters=vehicles.VehicleFilter(),
                request=PageRequest(1, 50),
            )
        return len(page.items)

    async def graphql_like(i: int) -> int:
        # What the `vehicles` resolver and its loaders run, without parsing and serialising.
        async with db.session(ws) as session:
            page = await vehicles.list_vehicles(
                session=session, actor=actor, filters=in_transit, request=CursorRequest(100)
            )
        loaders = DataLoaders.for_request(db)
        loaders.workspace_id = ws
        loaders.reader = lambda: db.read(ws, member=MemberCheck(actor.user_id, (actor.role,)))
        drivers = await asyncio.gather(*(loaders.driver_by_vehicle.load(v.id) for v in page.items))
        users = await asyncio.gather(*(loaders.user_by_id.load(d.user_id) for d in drivers if d))
        return sum(user is not None for user in users)

    operations: list[tuple[str, Callable[[int], Awaitable[int]], float | None]] = [
        ("session only (BEGIN, tenant, COMMIT)", session_only, None),
        ("vehicles nearby 10 (5 km)", vehicles_nearby, TARGET_SERVICE_P99_MS),
        ("locations near 10 (5 km)", locations_nearby, TARGET_SERVICE_P99_MS),
        ("vehicles list, page 1 of 50", vehicles_page, None),
        ("vehicles 100 + driver + user (GraphQL path)", graphql_like, None),
    ]
    sql: dict[str, list[tuple[str, Any]]] = {}
    try:
        for name, call, target in operations:
            with captured(db.engine) as statements:
                await call(0)
            sql[name] = statements
            report.results.append(
                await measure(
                    "service",
                    name,
                    call,
                    warmup=warmup,
                    iterations=iterations,
                    target_p99_ms=target,
                )
            )
        # Sequential use keeps one pooled connection: its statement cache tells whether
        # the server moved the nearby queries to a generic plan.
        async with db.session(ws) as session:
            rows = await (await session.connection()).execute(
                text(
                    "SELECT left(regexp_replace(statement, '\\s+', ' ', 'g'), 90) AS statement,"
                    " generic_plans, custom_plans FROM pg_prepared_statements"
                    " WHERE statement LIKE '%ST_DWithin%' OR statement LIKE '%count(*)%'"
                    " ORDER BY statement"
                )
            )
            report.plan_cache = [dict(row._mapping) for row in rows]
    finally:
        await runtime.close()
    return sql


# --- EXPLAIN --------------------------------------------------------------------------------


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


async def explain(report: Report, app_dsn: str, sql: dict[str, list[tuple[str, Any]]]) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the statements the services sent, as the app role in the
    workspace: once with the parameter values (a custom plan) and once as the generic plan
    a prepared statement may settle on after five executions."""
    wanted = {
        "vehicles nearby 10 (5 km)": "idx_vehicles_location",
        "locations near 10 (5 km)": "idx_locations_geo",
        "vehicles list, page 1 of 50": "",
    }
    conn = await asyncpg.connect(app_dsn)
    try:
        for name, index in wanted.items():
            for n, (statement, parameters) in enumerate(sql.get(name, [])):
                label = name if len(sql[name]) == 1 else f"{name} [statement {n + 1}]"
                for kind in ("custom", "generic"):
                    plan = await explain_one(conn, statement, tuple(parameters or ()), kind)
                    report.explains.append(
                        Explained(
                            label,
                            kind,
                            index,
                            bool(index) and index in plan,
                            "JIT:" in plan,
                            plan,
                        )
                    )
    finally:
        await conn.close()


async def explain_one(
    conn: asyncpg.Connection, statement: str, parameters: tuple[Any, ...], kind: str
) -> str:
    async with conn.transaction():
        await set_tenant(conn, PRIMARY)
        if kind == "custom":
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {statement}", *parameters)
        else:
            await conn.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await conn.execute(f"PREPARE bench_generic AS {statement}")
            try:
                args = ", ".join(literal(p) for p in parameters)
                execute = f"EXECUTE bench_generic({args})" if args else "EXECUTE bench_generic"
                rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {execute}")
            finally:
                await conn.execute("DEALLOCATE bench_generic")
    return "\n".join(row[0] for row in rows)


# --- HTTP -----------------------------------------------------------------------------------


async def bench_http(
    report: Report, database: str, redis_url: str, warmup: int, iterations: int
) -> None:
    points = query_points(report.size.seed + 1, warmup + iterations)
    async with served_api(database, redis_url) as client:
        await http_figures(report, client, points, warmup, iterations)


async def http_figures(
    report: Report,
    client: httpx.AsyncClient,
    points: list[tuple[float, float]],
    warmup: int,
    iterations: int,
) -> None:
    login = await client.post(
        "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    login.raise_for_status()
    client.headers["Authorization"] = f"Bearer {login.json()['data']['access_token']}"

    def ok(response: httpx.Response) -> Any:
        if response.status_code != 200:
            raise RuntimeError(f"{response.request.url}: {response.status_code} {response.text}")
        return response.json()

    async def get_near(path: str, i: int) -> int:
        lng, lat = points[i % len(points)]
        params = {"lat": lat, "lng": lng, "radius_m": RADIUS_M, "limit": NEARBY_LIMIT}
        return len(ok(await client.get(path, params=params))["data"])

    async def vehicles_nearby(i: int) -> int:
        return await get_near("/api/v1/vehicles/nearby", i)

    async def locations_nearby(i: int) -> int:
        return await get_near("/api/v1/locations/near", i)

    async def vehicles_page(i: int) -> int:
        return len(ok(await client.get("/api/v1/vehicles", params={"per_page": 50}))["data"])

    async def graphql(i: int) -> int:
        body = ok(
            await client.post(
                "/graphql", json={"query": GRAPHQL_QUERY, "variables": {"first": 100}}
            )
        )
        if body.get("errors"):
            raise RuntimeError(f"GraphQL errors: {body['errors']}")
        edges = body["data"]["vehicles"]["edges"]
        return sum(1 for e in edges if (e["node"]["driver"] or {}).get("user"))

    operations: list[tuple[str, Callable[[int], Awaitable[int]], float | None]] = [
        ("vehicles nearby 10 (5 km)", vehicles_nearby, TARGET_HTTP_P99_MS),
        ("locations near 10 (5 km)", locations_nearby, TARGET_HTTP_P99_MS),
        ("vehicles list, page 1 of 50", vehicles_page, None),
        ("vehicles 100 + driver + user (GraphQL)", graphql, None),
    ]
    for name, call, target in operations:
        report.results.append(
            await measure(
                "http", name, call, warmup=warmup, iterations=iterations, target_p99_ms=target
            )
        )


# --- output ---------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[spatial] {message}", file=sys.stderr, flush=True)


def print_report(report: Report, show_plans: bool) -> None:
    size = report.size
    print(
        f"\n{size.per_workspace:,} vehicles + {size.per_workspace:,} locations in each of"
        f" {WORKSPACES} workspaces ({size.drivers:,} drivers in the primary one),"
        f" database {report.database}"
    )
    took = f"{report.seed_s:.1f} s" if report.seed_s is not None else "?"
    when = "seeded now in" if report.seeded_now else "reused, seeded earlier in"
    print(f"seeding: {when} {took} (create, migrate, COPY, VACUUM ANALYZE)\n")
    header = (
        f"{'layer':8} {'operation':45} {'n':>5} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}"
        f" {'rows':>6} {'p99 target':>11}"
    )
    print(header + "\n" + "-" * len(header))
    for s in report.results:
        target = "" if s.target_p99_ms is None else f"< {s.target_p99_ms:g} ms"
        verdict = "" if s.met is None else (" ok" if s.met else " MISSED")
        print(
            f"{s.layer:8} {s.name:45} {s.samples:>5} {s.p50_ms:>8.2f} {s.p95_ms:>8.2f}"
            f" {s.p99_ms:>8.2f} {s.max_ms:>8.2f} {s.mean_rows:>6.1f} {target:>11}{verdict}"
        )
    print("(milliseconds; rows: mean rows returned, for GraphQL rows with driver and user)\n")
    for e in report.explains:
        verdict = (
            f"{e.index} {'USED' if e.index_used else 'NOT USED'}" if e.index else "no GiST expected"
        )
        jit = ", JIT compiled" if e.jit else ""
        print(f"EXPLAIN {e.name} ({e.plan_kind} plan): {verdict}{jit}")
        if show_plans:
            print("    " + e.plan.replace("\n", "\n    ") + "\n")
    if report.plan_cache:
        print("\nprepared statements of the service connection (generic / custom plans):")
        for row in report.plan_cache:
            print(f"  {row['generic_plans']:>5} / {row['custom_plans']:<5} {row['statement']}")


# --- main -----------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> Report:
    size = Size.scaled(args.scale, args.seed)
    started = time.perf_counter()
    seeded_now, seed_s = await prepare_database(args.database, size, args.reseed)
    if seeded_now:
        log(f"database ready in {time.perf_counter() - started:.1f} s")
    report = Report(args.database, size, seeded_now, seed_s)
    settings = Settings(
        environment="development",  # type: ignore[arg-type]
        database_url=owner_url(args.database),
        app_database_url=None,
        redis_url="memory://",
    )
    sql = await bench_service(report, settings, args.warmup, args.iterations)
    await explain(report, settings.app_dsn.replace("+asyncpg", "", 1), sql)
    if not args.skip_http:
        await bench_http(report, args.database, args.redis_url, args.warmup, args.iterations)
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100k per table")
    parser.add_argument("--reseed", action="store_true", help="rebuild the database")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--redis-url",
        # A database index of its own, so the bench's events and limits stay apart.
        default=redis_db_url(12),
    )
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--no-plans", action="store_true", help="verdicts only, no plan text")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    if not 0 < args.scale <= 1 or args.iterations < 1 or args.warmup < 0:
        parser.error("--scale must be in (0, 1], --iterations >= 1, --warmup >= 0")
    if get_settings().redis_url.startswith("memory") and not args.skip_http:
        parser.error("the HTTP part needs Redis (REDIS_URL), or pass --skip-http")

    report = asyncio.run(run(args))
    if args.json:
        out = asdict(report)
        for stats, row in zip(report.results, out["results"], strict=True):
            row["met"] = stats.met
        print(json.dumps(out, indent=2, default=str))
    else:
        print_report(report, show_plans=not args.no_plans)


if __name__ == "__main__":
    main()
