"""Dispatch decision latency at fleet scale, and the choice checked against brute force.

    nice -n 5 .venv/bin/python bench/dispatch.py                       # 10 workspaces x 10k
    .venv/bin/python bench/dispatch.py --vehicles 1000 --iterations 50  # quick look
    .venv/bin/python bench/dispatch.py --json
    .venv/bin/python bench/dispatch.py --roads   # in the sample road network, by road time

Builds its own database (default omniroute_bench_dispatch: cloned from the PostGIS
template, migrated, seeded), then:

- service: `dispatch_incident` for a 3-unit dispatch of a fresh incident, each in a
  transaction rolled back afterwards, so every decision sees the same fleet;
- brute force: for 100 random incidents, the units chosen equal a ranking of every vehicle
  of the workspace by matrix travel time (the same provider);
- http: `POST /api/v1/incidents/{id}/dispatch` on a loopback uvicorn it starts and stops
  (these commit: each takes three units off the market, of about 7,000 free).

It also prints the plan of the candidate walk as the application role.

With --roads (default database omniroute_bench_dispatch_roads) the shipped central-Helsinki
sample is imported with the project's own import and the fleets and incidents are placed
among its streets, so dispatch ranks candidates by road time (the workspaces' default
`auto` travel), and the brute force ranks every vehicle by road time too.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg
from _common import (
    HELSINKI,
    HELSINKI_BOX,
    owner_url,
    percentile,
    prepare_database,
    redis_db_url,
    served_api,
    timed_calls,
)
from sqlalchemy import make_url
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import set_tenant
from core.passwords import hash_password
from core.principal import Principal
from core.runtime import Runtime
from core.settings import Environment, Settings
from models.enums import VehicleType
from models.operations_inputs import DispatchRequest
from services.operations import dispatch, travel
from services.roads.imports import import_network
from services.roads.network import read_network
from services.roads.position_snaps import snap_positions
from services.roads.travel import road_provider
from solvers.matrix import HaversineProvider, MatrixProvider, travel_to
from solvers.problem import Point
from solvers.roads import RoadNetwork, types_mask

DEFAULT_DATABASE = "omniroute_bench_dispatch"
WORKSPACES = 10
UNITS = 3
TARGET_SERVICE_P99_MS = 50.0
TARGET_HTTP_P99_MS = 100.0
ADMIN_PASSWORD = "bench-dispatch-password"
NAMESPACE = UUID("0b7c1f7e-5d0a-4f43-9a57-3f3c1c6d2e88")
CENTRE = (77.5946, 12.9716)  # Bengaluru (lng, lat); fleets within +-0.25 deg
SPREAD_DEG = 0.25
# Where fleets and incidents are: (min lng, min lat, max lng, max lat, workspace name).
BENGALURU = (
    CENTRE[0] - SPREAD_DEG,
    CENTRE[1] - SPREAD_DEG,
    CENTRE[0] + SPREAD_DEG,
    CENTRE[1] + SPREAD_DEG,
)
AREA = BENGALURU
TYPES = (("ambulance", 30), ("police_car", 30), ("fire_engine", 20), ("car", 20))
STATUSES = (("available", 70), ("in_transit", 20), ("maintenance", 10))
MAX_AGE_S = 600.0
BRUTE_FORCE_SLICE = 250


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]


def city_point(rng: random.Random) -> tuple[float, float]:
    return (rng.uniform(AREA[0], AREA[2]), rng.uniform(AREA[1], AREA[3]))


@dataclass(frozen=True, slots=True)
class Tenant:
    index: int
    organization_id: UUID
    workspace_id: UUID
    admin_id: UUID

    @classmethod
    def of(cls, index: int) -> Tenant:
        return cls(
            index,
            uuid.uuid5(NAMESPACE, f"org-{index}"),
            uuid.uuid5(NAMESPACE, f"ws-{index}"),
            uuid.uuid5(NAMESPACE, f"admin-{index}"),
        )

    @property
    def email(self) -> str:
        return f"bench-dispatch-{self.index}@example.com"

    def actor(self) -> Principal:
        return Principal(self.admin_id, self.workspace_id, self.organization_id, "admin")


@dataclass(slots=True)
class Stats:
    layer: str
    name: str
    samples: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    target_p99_ms: float

    @property
    def met(self) -> bool:
        return self.p99_ms < self.target_p99_ms


@dataclass(slots=True)
class Report:
    vehicles_per_workspace: int
    seed_s: float
    results: list[Stats] = field(default_factory=list)
    brute_force_checked: int = 0
    brute_force_equal: int = 0
    plan: str = ""


# --- seeding --------------------------------------------------------------------------------

STAGE = """CREATE TEMP TABLE stage_vehicles (
    id uuid, workspace_id uuid, vehicle_type text, plate_number text, status text,
    lng float8, lat float8, last_location_at timestamptz, metadata text
) ON COMMIT DROP"""
MOVE = """INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, status,
    last_location, last_location_at, metadata)
SELECT id, workspace_id, vehicle_type, plate_number, status::vehicle_status,
    ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, last_location_at, metadata::jsonb
FROM stage_vehicles"""
COLUMNS = (
    "id",
    "workspace_id",
    "vehicle_type",
    "plate_number",
    "status",
    "lng",
    "lat",
    "last_location_at",
    "metadata",
)


async def seed(database: str, per_workspace: int, seed_value: int) -> None:
    network = await active_network(database)
    conn = await asyncpg.connect(owner_url(database))
    password = hash_password(ADMIN_PASSWORD)
    try:
        for index in range(WORKSPACES):
            tenant = Tenant.of(index)
            rng = random.Random(seed_value * 1000 + index)
            now = datetime.now(UTC)
            rows = []
            for i in range(per_workspace):
                lng, lat = city_point(rng)
                # One in twenty positions is stale: not a candidate.
                stale = rng.random() < 0.05
                age = rng.uniform(900, 7200) if stale else rng.uniform(0, 120)
                rows.append(
                    (
                        uuid.uuid4(),
                        tenant.workspace_id,
                        weighted(rng, TYPES),
                        f"U {i:06d}",
                        weighted(rng, STATUSES),
                        lng,
                        lat,
                        now - timedelta(seconds=age),
                        '{"stale": true}' if stale else "{}",
                    )
                )
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.current_workspace_id', $1, true),"
                    " set_config('app.current_organization_id', $2, true)",
                    str(tenant.workspace_id),
                    str(tenant.organization_id),
                )
                await conn.execute(
                    "INSERT INTO organizations (id, name, slug) VALUES ($1, $2, $3)",
                    tenant.organization_id,
                    f"Bench Responders {index}",
                    f"bench-responders-{index}",
                )
                await conn.execute(
                    "INSERT INTO workspaces (id, organization_id, name, region, active_mode)"
                    " VALUES ($1, $2, $3, 'ap-south', 'emergency')",
                    tenant.workspace_id,
                    tenant.organization_id,
                    "Helsinki" if AREA == HELSINKI_BOX else "Bengaluru",
                )
                await conn.execute(
                    "INSERT INTO users (id, workspace_id, email, password_hash, full_name, role,"
                    " status) VALUES ($1, $2, $3, $4, 'Bench Admin', 'admin', 'active')",
                    tenant.admin_id,
                    tenant.workspace_id,
                    tenant.email,
                    password,
                )
                await conn.execute(STAGE)
                await conn.copy_records_to_table("stage_vehicles", records=rows, columns=COLUMNS)
                await conn.execute(MOVE)
                await snap_workspace(conn, network)
            log(f"workspace {index}: {per_workspace} vehicles")
        await conn.execute("VACUUM (ANALYZE) vehicles")
    finally:
        await conn.close()


async def insert_incidents(
    database: str, tenant: Tenant, points: list[tuple[float, float]]
) -> list[UUID]:
    """Reported critical incidents with their SLA clock, written directly."""
    ids = [uuid.uuid4() for _ in points]
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", str(tenant.workspace_id)
            )
            await conn.executemany(
                "INSERT INTO incidents (id, workspace_id, severity, incident_type, location,"
                " response_sla_minutes, reported_by, sla_deadline)"
                " VALUES ($1, $2, 'critical', 'cardiac arrest',"
                " ST_SetSRID(ST_MakePoint($3, $4), 4326)::geography, 8, $5,"
                " now() + interval '8 minutes')",
                [
                    (i, tenant.workspace_id, p[0], p[1], tenant.admin_id)
                    for i, p in zip(ids, points, strict=True)
                ],
            )
    finally:
        await conn.close()
    return ids


# --- timing ---------------------------------------------------------------------------------


async def measure(
    layer: str,
    name: str,
    call: Callable[[int], Awaitable[None]],
    *,
    warmup: int,
    iterations: int,
    target: float,
) -> Stats:
    timings, _ = await timed_calls(call, warmup=warmup, iterations=iterations)
    stats = Stats(
        layer,
        name,
        iterations,
        percentile(timings, 0.5),
        percentile(timings, 0.99),
        timings[-1],
        target,
    )
    log(f"{layer:8} {name}: p50 {stats.p50_ms:.2f} ms, p99 {stats.p99_ms:.2f} ms")
    return stats


async def decide(runtime: Runtime, tenant: Tenant, incident_id: UUID) -> dispatch.DispatchResult:
    """One dispatch decision in a transaction that is rolled back: the fleet stays as is."""
    async with AsyncSession(runtime.db.engine, expire_on_commit=False) as session:
        transaction = await session.begin()
        try:
            await set_tenant(session, tenant.workspace_id)
            return await dispatch.dispatch_incident(
                session=session,
                actor=tenant.actor(),
                incident_id=incident_id,
                data=DispatchRequest(count=UNITS),
                max_position_age_s=MAX_AGE_S,
            )
        finally:
            await transaction.rollback()


async def brute_force(
    database: str, tenant: Tenant, lng: float, lat: float, provider: MatrixProvider
) -> list[tuple[int, int, str]]:
    """Every free, fresh, unassigned vehicle of the workspace ranked by matrix travel time."""
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", str(tenant.workspace_id)
            )
            rows = await conn.fetch(
                "SELECT id, vehicle_type, ST_X(last_location::geometry) AS lng,"
                " ST_Y(last_location::geometry) AS lat FROM vehicles"
                " WHERE deleted_at IS NULL AND status = 'available'"
                " AND last_location IS NOT NULL"
                " AND last_location_at >= now() - make_interval(secs => $1)"
                " AND NOT EXISTS (SELECT 1 FROM incident_units u"
                "   WHERE u.vehicle_id = vehicles.id AND u.cleared_at IS NULL)",
                MAX_AGE_S,
            )
    finally:
        await conn.close()
    # A slice of the fleet at a time, as dispatch asks: the column towards the scene.
    ranked: list[tuple[int, int, str]] = []
    for start in range(0, len(rows), BRUTE_FORCE_SLICE):
        part = rows[start : start + BRUTE_FORCE_SLICE]
        points = [Point(r["lat"], r["lng"]) for r in part]
        column = travel_to(provider, points, Point(lat, lng), {r["vehicle_type"] for r in part})
        ranked.extend(
            (
                int(column.durations[r["vehicle_type"]][i]),
                int(column.distance[i]),
                str(r["id"]),
            )
            for i, r in enumerate(part)
        )
    return sorted(ranked)


async def explain(settings: Settings, tenant: Tenant, lng: float, lat: float) -> str:
    conn = await asyncpg.connect(settings.app_dsn.replace("postgresql+asyncpg", "postgresql"))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", str(tenant.workspace_id)
            )
            sql = str(dispatch.CANDIDATES.text)
            for name, value in (
                ("types", "ARRAY[" + ",".join(f"'{t.value}'" for t in VehicleType) + "]"),
                ("beyond", "ARRAY[" + ",".join("0" for _ in VehicleType) + "]::float8[]"),
                ("workspace_id", f"'{tenant.workspace_id}'::uuid"),
                ("fresh_since", "now() - interval '10 minutes'"),
                ("exclude", "'{}'"),
                ("lng", repr(lng)),
                ("lat", repr(lat)),
                ("per_type", str(UNITS + dispatch.SPARE)),
            ):
                sql = sql.replace(f":{name}", value)
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql)
    finally:
        await conn.close()
    return "\n".join(r[0] for r in rows)


async def checking_provider(database: str, settings: Settings) -> MatrixProvider:
    """The provider the brute force ranks with: road travel (great-circle for a slice with a
    vehicle off the network, as dispatch does) when a network is active, else great-circle."""
    conn = await asyncpg.connect(owner_url(database))
    try:
        version = await conn.fetchval("SELECT version FROM roads.networks WHERE status = 'active'")
    finally:
        await conn.close()
    if version is None:
        return HaversineProvider()
    network = await read_network(settings.owner_dsn, version)
    assert network is not None
    return travel.RoadFirst(road_provider(network))


async def bench_service(
    report: Report,
    database: str,
    settings: Settings,
    warmup: int,
    iterations: int,
    seed: int,
    checks: int,
) -> None:
    runtime = Runtime.start(settings)
    try:
        rng = random.Random(seed + 7)
        tenants = [Tenant.of(i) for i in range(WORKSPACES)]
        per_tenant: dict[int, list[tuple[UUID, tuple[float, float]]]] = {}
        total = warmup + iterations
        for t in tenants:
            points = [city_point(rng) for _ in range(total // WORKSPACES + 1)]
            ids = await insert_incidents(database, t, points)
            per_tenant[t.index] = list(zip(ids, points, strict=True))

        async def one(i: int) -> None:
            tenant = tenants[i % WORKSPACES]
            incident_id, _ = per_tenant[tenant.index][i // WORKSPACES]
            result = await decide(runtime, tenant, incident_id)
            if len(result.chosen) != UNITS:
                raise RuntimeError(f"dispatched {len(result.chosen)} of {UNITS}")

        report.results.append(
            await measure(
                "service",
                f"dispatch {UNITS} units (rolled back)",
                one,
                warmup=warmup,
                iterations=iterations,
                target=TARGET_SERVICE_P99_MS,
            )
        )

        # The choice against brute force, on random incidents across the workspaces.
        provider = await checking_provider(database, settings)
        points = [(tenants[i % WORKSPACES], city_point(rng)) for i in range(checks)]
        for tenant, point in points:
            (incident_id,) = await insert_incidents(database, tenant, [point])
            result = await decide(runtime, tenant, incident_id)
            expected = (await brute_force(database, tenant, *point, provider))[:UNITS]
            got = [(u.travel_s, u.distance_m, str(u.vehicle_id)) for u in result.chosen]
            report.brute_force_checked += 1
            report.brute_force_equal += got == expected
        log(f"brute force: {report.brute_force_equal}/{report.brute_force_checked} equal")
        report.plan = await explain(settings, tenants[0], *points[0][1])
    finally:
        await runtime.close()


async def bench_http(
    report: Report, database: str, redis_url: str, warmup: int, iterations: int, seed: int
) -> None:
    rng = random.Random(seed + 11)
    tenants = [Tenant.of(i) for i in range(WORKSPACES)]
    total = warmup + iterations
    incidents: dict[int, list[UUID]] = {}
    for t in tenants:
        points = [city_point(rng) for _ in range(total // WORKSPACES + 1)]
        incidents[t.index] = await insert_incidents(database, t, points)
    async with served_api(database, redis_url) as client:
        tokens = {}
        for t in tenants:
            login = await client.post(
                "/api/v1/auth/login", json={"email": t.email, "password": ADMIN_PASSWORD}
            )
            login.raise_for_status()
            tokens[t.index] = login.json()["data"]["access_token"]

        async def one(i: int) -> None:
            tenant = tenants[i % WORKSPACES]
            incident_id = incidents[tenant.index][i // WORKSPACES]
            response = await client.post(
                f"/api/v1/incidents/{incident_id}/dispatch",
                json={"count": UNITS},
                headers={"Authorization": f"Bearer {tokens[tenant.index]}"},
            )
            if response.status_code != 200:
                raise RuntimeError(f"{response.status_code} {response.text}")
            if response.json()["data"]["dispatched"] != UNITS:
                raise RuntimeError(response.text)

        report.results.append(
            await measure(
                "http",
                f"POST /incidents/{{id}}/dispatch ({UNITS} units)",
                one,
                warmup=warmup,
                iterations=iterations,
                target=TARGET_HTTP_P99_MS,
            )
        )


async def run(args: argparse.Namespace) -> Report:
    redis_url = redis_db_url(args.redis_db)
    started = time.perf_counter()
    if not (args.reuse and await exists(args.database)):
        await prepare_database(args.database)
        if args.roads:
            imported = await import_network(owner_url(args.database), HELSINKI)
            log(f"road network version {imported.version}: {imported.edges} edges")
        await seed(args.database, args.vehicles, args.seed)
    else:
        await refresh_positions(args.database)
    settings = Settings(
        database_url=owner_url(args.database),
        redis_url=redis_url,
        environment=Environment.DEVELOPMENT,
        db_pool_size=2,
        db_max_overflow=0,
    )
    report = Report(args.vehicles, round(time.perf_counter() - started, 1))
    await bench_service(
        report, args.database, settings, args.warmup, args.iterations, args.seed, args.checks
    )
    await bench_http(report, args.database, redis_url, args.warmup, args.iterations, args.seed)
    return report


async def exists(database: str) -> bool:
    conn = await asyncpg.connect(owner_url("postgres"))
    try:
        return bool(await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", database))
    finally:
        await conn.close()


SNAP_FLEET = """
    UPDATE vehicles v
    SET snap_version = x.version, snap_mask = x.mask, snap_edge = x.edge,
        snap_fraction = x.fraction, snap_offset_m = x.offset_m,
        snap_lng = CASE WHEN x.edge IS NULL THEN NULL ELSE x.lng END,
        snap_lat = CASE WHEN x.edge IS NULL THEN NULL ELSE x.lat END
    FROM unnest($1::uuid[], $2::float8[], $3::float8[], $4::int[], $5::int[], $6::int[],
                $7::float8[], $8::float8[]) AS x(v, lng, lat, version, mask, edge, fraction,
                                                 offset_m)
    WHERE v.id = x.v
"""


async def refresh_positions(database: str) -> None:
    """Fresh positions stay fresh for this run, stale ones stale; units sent by an earlier
    run's HTTP phase are released; positions are snapped again."""
    network = await active_network(database)
    conn = await asyncpg.connect(owner_url(database))
    try:
        for index in range(WORKSPACES):
            tenant = Tenant.of(index)
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.current_workspace_id', $1, true)",
                    str(tenant.workspace_id),
                )
                await conn.execute(
                    "UPDATE vehicles SET status = 'available' WHERE id IN"
                    " (SELECT vehicle_id FROM incident_units)"
                )
                await conn.execute(
                    "DELETE FROM routes WHERE id IN (SELECT route_id FROM incident_units)"
                )
                await conn.execute("DELETE FROM incidents")
                await conn.execute("DELETE FROM locations WHERE metadata ? 'incident_id'")
                await conn.execute(
                    "UPDATE vehicles SET last_location_at = CASE WHEN metadata ? 'stale'"
                    " THEN now() - interval '1 hour'"
                    " ELSE now() - random() * interval '2 minutes' END"
                )
                await snap_workspace(conn, network)
        await conn.execute("VACUUM (ANALYZE) vehicles")
    finally:
        await conn.close()


async def active_network(database: str) -> RoadNetwork | None:
    conn = await asyncpg.connect(owner_url(database))
    try:
        version = await conn.fetchval("SELECT version FROM roads.networks WHERE status = 'active'")
    finally:
        await conn.close()
    url = make_url(owner_url(database)).set(drivername="postgresql+asyncpg")
    return (
        await read_network(url.render_as_string(hide_password=False), version) if version else None
    )


async def snap_workspace(conn: asyncpg.Connection, network: RoadNetwork | None) -> None:
    """The scoped workspace's positions snapped as the position writer snaps them, onto the
    roads of its free vehicles' types (positions here are written by COPY and UPDATE, not
    through the writer); only those without a snap of the active version for those roads
    (a database seeded before snaps were stored, or reused after a new import)."""
    types = await conn.fetch(
        "SELECT DISTINCT vehicle_type FROM vehicles WHERE deleted_at IS NULL"
        " AND status = 'available' AND last_location IS NOT NULL"
    )
    free_types = [t[0] for t in types]
    rows = await conn.fetch(
        "SELECT id, ST_X(last_location::geometry) AS lng, ST_Y(last_location::geometry) AS lat"
        " FROM vehicles WHERE last_location IS NOT NULL AND (snap_edge IS NULL"
        " OR snap_version IS DISTINCT FROM $1 OR snap_mask IS DISTINCT FROM $2"
        " OR snap_lng IS DISTINCT FROM ST_X(last_location::geometry)"
        " OR snap_lat IS DISTINCT FROM ST_Y(last_location::geometry))",
        network.version if network else None,
        types_mask(free_types),
    )
    lngs, lats = [r["lng"] for r in rows], [r["lat"] for r in rows]
    snaps = snap_positions(network, free_types, lngs, lats)
    await conn.execute(SNAP_FLEET, [r["id"] for r in rows], lngs, lats, *snaps.params().values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", help=f"default {DEFAULT_DATABASE}[_roads]")
    parser.add_argument("--vehicles", type=int, default=10_000, help="per workspace")
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--reuse", action="store_true", help="keep the database if it exists")
    parser.add_argument(
        "--roads", action="store_true", help="fleets in the sample road network, by road time"
    )
    parser.add_argument(
        "--checks", type=int, help="incidents checked against brute force (100; 20 on roads)"
    )
    args = parser.parse_args()
    global AREA
    if args.roads:
        AREA = HELSINKI_BOX
    args.database = args.database or DEFAULT_DATABASE + ("_roads" if args.roads else "")
    if args.checks is None:
        args.checks = 20 if args.roads else 100
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return
    travel_by = "road time (Helsinki sample)" if args.roads else "great-circle time (Bengaluru)"
    print(f"{WORKSPACES} workspaces x {report.vehicles_per_workspace} vehicles, by {travel_by}")
    print(f"seeded in {report.seed_s} s")
    for s in report.results:
        verdict = "met" if s.met else "MISSED"
        print(
            f"{s.layer:8} {s.name:45} p50 {s.p50_ms:7.2f} ms  p99 {s.p99_ms:7.2f} ms"
            f"  max {s.max_ms:7.2f} ms  target p99 < {s.target_p99_ms:.0f} ms: {verdict}"
        )
    print(f"choice equal to brute force: {report.brute_force_equal}/{report.brute_force_checked}")
    print("candidate walk, as the application role:\n" + report.plan)


if __name__ == "__main__":
    main()
