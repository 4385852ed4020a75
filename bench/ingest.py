"""Position ingestion throughput: single POSTs and batches through the real API, side by side
with the raw ceiling of the same rows written without the API.

    .venv/bin/python bench/ingest.py                          # 20 s singles, 20 s batches
    .venv/bin/python bench/ingest.py --duration 10 --json
    .venv/bin/python bench/ingest.py --api-processes 1,2      # one API process, then two

Works in its own database (default omniroute_bench_live: recreated from the PostGIS template
and migrated on every run) and its own Redis database (default 13, flushed at start). Starts
`python app.py` on free loopback ports (with N processes the clients go round robin) and
stops it on every exit path, Ctrl-C included. One workspace with 100 vans per configuration.

Phases, each for a fixed duration after a short warm-up:
- singles: POST /api/v1/tracking/update from --concurrency keep-alive clients at once;
- batches: POST /api/v1/tracking/batch of --batch-size positions from --batch-concurrency
  clients at once.
Every position has a distinct (vehicle, recorded_at), so each acknowledgement is one new row.
After the API has stopped (and so flushed), the rows of each phase are read back as the
schema owner and reconciled key by key with the acknowledged positions.

The ceiling, with the API stopped, writes the same kind of rows in chunks of --batch-size,
one transaction per chunk, on one connection:
- copy: asyncpg binary COPY as the owner into a scratch copy of the table without row-level
  security (`LIKE live_vehicle_positions INCLUDING DEFAULTS`): no keys, no indexes;
- copy+indexes: the same into a scratch copy that also has the table's primary key and
  indexes (INCLUDING INDEXES), which is what every real insert maintains;
- insert (RLS): the writer's own multi-row INSERT ... unnest and vehicle UPDATE, as the
  application role under the tenant policy, into live_vehicle_positions itself.
COPY FROM is refused on tables with row-level security, hence the scratch copies.

Everything runs on one machine: the API, PostgreSQL, Redis and this load generator share its
cores; the CPU seconds of each are reported per phase.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import struct
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

# The bench's helper and the project's packages, whichever folder this is started from.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from _common import owner_url, prepare_database, redis_db_url  # noqa: E402
from _live_setup import (  # noqa: E402
    CENTRE,
    ApiServers,
    CpuMeter,
    Fleet,
    RawHttp,
    add_common_arguments,
    app_url,
    check_common_arguments,
    create_fleet,
    flush_redis,
    log,
    machine_note,
    percentile,
    print_json,
    run_main,
)
from redis.asyncio import Redis  # noqa: E402

from services.tracking.writer import INSERT, MOVE  # noqa: E402

TARGET_SINGLE_PER_S = 1_500.0
TARGET_SINGLE_P99_MS = 100.0
TARGET_BATCH_PER_S = 20_000.0
DRAIN_TIMEOUT_S = 60.0

JSON_HEADERS = {"Content-Type": "application/json"}


def tag(message: str) -> None:
    log("ingest", message)


# --- the rows -------------------------------------------------------------------------------


@dataclass(slots=True)
class Stamps:
    """Distinct recorded_at values of one phase: base + n microseconds, n counting up."""

    base: datetime
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def next(self) -> tuple[int, datetime]:
        n = next(self.counter)
        return n, self.base + timedelta(microseconds=n)


def phase_base(index: int) -> datetime:
    """Phases an hour apart, within the last day, so that their rows never overlap."""
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=20)
    return start + timedelta(hours=index)


def point(rng: random.Random) -> tuple[float, float]:
    return CENTRE[0] + rng.uniform(-0.2, 0.2), CENTRE[1] + rng.uniform(-0.2, 0.2)


def report_body(vehicle: str, at: datetime, rng: random.Random) -> dict[str, Any]:
    lng, lat = point(rng)
    return {
        "vehicle_id": vehicle,
        "lng": lng,
        "lat": lat,
        "speed": round(rng.uniform(0, 80), 1),
        "heading": round(rng.uniform(0, 359), 1),
        "recorded_at": at.isoformat(),
    }


# --- the load -------------------------------------------------------------------------------


@dataclass(slots=True)
class Phase:
    name: str
    api_processes: int
    concurrency: int
    batch_size: int
    duration_s: float
    warmup_s: float
    client: str
    requests: int = 0
    failed: dict[str, int] = field(default_factory=dict)
    positions_acked: int = 0
    duplicates: int = 0
    rejected: int = 0
    positions_per_s: float = 0.0
    requests_per_s: float = 0.0
    ack_p50_ms: float = 0.0
    ack_p95_ms: float = 0.0
    ack_p99_ms: float = 0.0
    ack_max_ms: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    api_rss_mib_after: float = 0.0
    feed_published: int | None = None
    feed_drain_s: float | None = None
    stored_rows: int | None = None
    lost: int | None = None
    stored_unacknowledged: int | None = None
    target_per_s: float | None = None
    target_p99_ms: float | None = None

    @property
    def met(self) -> bool | None:
        if self.target_per_s is None:
            return None
        fast = self.target_p99_ms is None or self.ack_p99_ms < self.target_p99_ms
        return self.positions_per_s >= self.target_per_s and fast and self.lost == 0


@dataclass(slots=True)
class _Record:
    done: float
    latency_s: float
    positions: int


class Poster(Protocol):
    async def post(self, path: str, body: bytes) -> tuple[int, bytes]: ...

    async def close(self) -> None: ...


class HttpxPoster:
    """An httpx client of its own per request in flight: one AsyncClient sharing a pool of
    64 connections collapses to about 100 requests/s here (encode/httpx#3215)."""

    def __init__(self, url: str, token: str) -> None:
        self._client = httpx.AsyncClient(
            base_url=url,
            headers={"Authorization": f"Bearer {token}", **JSON_HEADERS},
            timeout=30,
            trust_env=False,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        response = await self._client.post(path, content=body)
        return response.status_code, response.content

    async def close(self) -> None:
        await self._client.aclose()


class Load:
    """The clients of one phase; acknowledged keys are kept for the reconciliation."""

    def __init__(self, fleet: Fleet, urls: list[str], stamps: Stamps, seed: int) -> None:
        self.fleet = fleet
        self.urls = urls
        self.stamps = stamps
        self.rng = random.Random(seed)
        self.acked: set[tuple[UUID, datetime]] = set()
        self.records: list[_Record] = []
        self.failed: dict[str, int] = {}
        self.duplicates = 0
        self.rejected = 0
        self._vehicles = itertools.cycle(fleet.vehicle_ids)

    def _positions(self, n: int) -> list[dict[str, Any]]:
        return [
            report_body(next(self._vehicles), self.stamps.next()[1], self.rng) for _ in range(n)
        ]

    def _fail(self, reason: str) -> None:
        self.failed[reason] = self.failed.get(reason, 0) + 1

    def _ack(self, item: dict[str, Any]) -> None:
        if item["duplicate"]:
            self.duplicates += 1
            return
        at = datetime.fromisoformat(item["recorded_at"].replace("Z", "+00:00"))
        self.acked.add((UUID(item["vehicle_id"]), at))

    async def _one(self, client: Poster, batch_size: int) -> None:
        if batch_size == 1:
            path, body = "/api/v1/tracking/update", orjson.dumps(self._positions(1)[0])
        else:
            path = "/api/v1/tracking/batch"
            body = orjson.dumps({"positions": self._positions(batch_size)})
        started = time.perf_counter()
        try:
            status, content = await client.post(path, body)
        except (OSError, TimeoutError, asyncio.IncompleteReadError, httpx.HTTPError) as exc:
            self._fail(type(exc).__name__)
            return
        done = time.perf_counter()
        if status != 201:
            self._fail(str(status))
            return
        data = orjson.loads(content)["data"]
        if batch_size == 1:
            self._ack(data)
            count = 1
        else:
            for item in data["accepted"]:
                self._ack(item)
            self.rejected += len(data["rejected"])
            count = len(data["accepted"])
        self.records.append(_Record(done, done - started, count))

    async def run(self, concurrency: int, batch_size: int, until: float, kind: str) -> None:
        # One keep-alive connection per client in flight, round robin over the API processes.
        clients: list[Poster] = [
            (RawHttp if kind == "raw" else HttpxPoster)(
                self.urls[i % len(self.urls)], self.fleet.token
            )
            for i in range(concurrency)
        ]

        async def worker(client: Poster) -> None:
            while time.perf_counter() < until:
                await self._one(client, batch_size)

        try:
            await asyncio.gather(*(worker(client) for client in clients))
        finally:
            for client in clients:
                await client.close()


async def publish_calls(redis: Redis) -> int:
    """PUBLISH commands Redis has executed since it started (a server-wide counter)."""
    stats = await redis.info("commandstats")
    entry = stats.get("cmdstat_publish") or {}
    return int(entry.get("calls", 0)) if isinstance(entry, dict) else 0


async def wait_feed(redis: Redis, before: int, expected: int, since: float) -> tuple[int, float]:
    """Until the live-map feed has published `expected` positions, or stops for 2 s: the
    count and the seconds from `since` to its last publish."""
    last_count, last_change = await publish_calls(redis) - before, time.perf_counter()
    deadline = time.perf_counter() + DRAIN_TIMEOUT_S
    while time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
        count = await publish_calls(redis) - before
        if count != last_count:
            last_count, last_change = count, time.perf_counter()
        if count >= expected or time.perf_counter() - last_change > 2.0:
            break
    return last_count, max(0.0, last_change - since)


async def run_phase(
    phase: Phase,
    fleet: Fleet,
    servers: ApiServers,
    redis: Redis,
    stamps: Stamps,
    seed: int,
) -> Load:
    load = Load(fleet, servers.urls, stamps, seed)
    meter = CpuMeter(servers)
    published_before = await publish_calls(redis)
    started = time.perf_counter()
    measured_from = started + phase.warmup_s
    until = measured_from + phase.duration_s

    async def meter_window() -> None:
        await asyncio.sleep(phase.warmup_s)
        await meter.start()
        await asyncio.sleep(phase.duration_s)
        phase.cpu = (await meter.stop()).as_dict()

    window = asyncio.create_task(meter_window())
    await load.run(phase.concurrency, phase.batch_size, until, phase.client)
    await window
    ended = time.perf_counter()
    servers.check()
    measured = [r for r in load.records if measured_from <= r.done <= until]
    latencies = sorted(r.latency_s * 1000 for r in measured)
    phase.requests = len(load.records)
    phase.failed = load.failed
    phase.positions_acked = len(load.acked)
    phase.duplicates = load.duplicates
    phase.rejected = load.rejected
    phase.positions_per_s = round(sum(r.positions for r in measured) / phase.duration_s, 1)
    phase.requests_per_s = round(len(measured) / phase.duration_s, 1)
    phase.ack_p50_ms = round(percentile(latencies, 50), 1)
    phase.ack_p95_ms = round(percentile(latencies, 95), 1)
    phase.ack_p99_ms = round(percentile(latencies, 99), 1)
    phase.ack_max_ms = round(latencies[-1], 1) if latencies else 0.0
    # What follows each flush (feed publish, hot copies, deviations) runs after the ack:
    # how far behind it is shows once the load stops.
    phase.feed_published, phase.feed_drain_s = await wait_feed(
        redis, published_before, phase.positions_acked, ended
    )
    phase.feed_drain_s = round(phase.feed_drain_s, 2)
    phase.api_rss_mib_after = round(servers.rss_mib(), 1)
    return load


async def reconcile(database: str, fleet: Fleet, phase: Phase, load: Load) -> None:
    """Rows of the phase's time range in live_vehicle_positions, key by key."""
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", fleet.workspace_id
            )
            rows = await conn.fetch(
                "SELECT vehicle_id, recorded_at FROM live_vehicle_positions"
                " WHERE recorded_at >= $1 AND recorded_at < $2",
                load.stamps.base,
                load.stamps.base + timedelta(minutes=59),
            )
    finally:
        await conn.close()
    stored = {(r["vehicle_id"], r["recorded_at"]) for r in rows}
    phase.stored_rows = len(stored)
    phase.lost = len(load.acked - stored)
    phase.stored_unacknowledged = len(stored - load.acked)


# --- the ceiling ----------------------------------------------------------------------------


@dataclass(slots=True)
class Ceiling:
    name: str
    path: str
    rows: int
    chunk: int
    seconds: float
    rows_per_s: float


def ewkb_point(value: tuple[float, float]) -> bytes:
    """A geography point as EWKB (little endian, SRID 4326): geography's binary input."""
    return struct.pack("<BIIdd", 1, 0x20000001, 4326, value[0], value[1])


def _no_decode(raw: bytes) -> bytes:
    return raw


def ceiling_rows(
    fleet: Fleet, count: int, base: datetime, seed: int
) -> list[tuple[UUID, datetime, UUID, tuple[float, float], float, float]]:
    rng = random.Random(seed)
    vehicles = [UUID(v) for v in fleet.vehicle_ids]
    workspace = UUID(fleet.workspace_id)
    return [
        (
            vehicles[n % len(vehicles)],
            base + timedelta(microseconds=n),
            workspace,
            point(rng),
            round(rng.uniform(0, 80), 1),
            round(rng.uniform(0, 359), 1),
        )
        for n in range(count)
    ]


async def copy_ceiling(database: str, name: str, like: str, rows: list[Any], chunk: int) -> Ceiling:
    conn = await asyncpg.connect(owner_url(database))
    try:
        await conn.set_type_codec(
            "geography", schema="public", encoder=ewkb_point, decoder=_no_decode, format="binary"
        )
        await conn.execute(f"DROP TABLE IF EXISTS {name}")
        await conn.execute(f"CREATE TABLE {name} (LIKE live_vehicle_positions {like})")
        columns = ["vehicle_id", "recorded_at", "workspace_id", "position", "speed_kmh", "heading"]
        started = time.perf_counter()
        for i in range(0, len(rows), chunk):
            # One COPY statement per chunk: each is its own committed transaction.
            await conn.copy_records_to_table(name, records=rows[i : i + chunk], columns=columns)
        seconds = time.perf_counter() - started
        stored = await conn.fetchval(f"SELECT count(*) FROM {name}")  # noqa: S608 (ours)
        await conn.execute(f"DROP TABLE {name}")
    finally:
        await conn.close()
    if stored != len(rows):
        raise RuntimeError(f"{name}: {stored} rows stored of {len(rows)}")
    return Ceiling(
        f"copy ({like.replace('INCLUDING ', '').lower()})",
        f"bare asyncpg binary COPY as the owner into a non-RLS scratch table ({like})",
        len(rows),
        chunk,
        round(seconds, 2),
        round(len(rows) / seconds, 1),
    )


async def insert_ceiling(
    database: str, fleet: Fleet, rows: list[Any], chunk: int, *, move: bool
) -> Ceiling:
    """The writer's INSERT ... unnest (and, with `move`, its vehicle UPDATE), one transaction
    per chunk, as the application role under the tenant policy: the API's write path
    without the API."""
    insert = str(INSERT).replace(":workspace_id", "$1")
    move_sql = str(MOVE)
    names = ("vehicles", "times", "lngs", "lats", "speeds", "headings", "accuracies", "batteries")
    for n, key in enumerate(names, start=2):
        insert = insert.replace(f":{key}", f"${n}")
    # The positions' road snaps (which the writer computes in Python) are left out: NULL.
    snaps = ("snap_versions", "snap_masks", "snap_edges", "snap_fractions", "snap_offsets")
    for n, key in enumerate((*names[:4], *snaps), start=1):
        move_sql = move_sql.replace(f":{key}", f"${n}")
    conn = await asyncpg.connect(app_url(database))
    try:
        started = time.perf_counter()
        for i in range(0, len(rows), chunk):
            part = rows[i : i + chunk]
            vehicles = [r[0] for r in part]
            times = [r[1] for r in part]
            lngs = [r[3][0] for r in part]
            lats = [r[3][1] for r in part]
            nulls = [None] * len(part)
            async with conn.transaction():
                await conn.execute(
                    "SELECT set_config('app.current_workspace_id', $1, true)", fleet.workspace_id
                )
                status = await conn.execute(
                    insert,
                    UUID(fleet.workspace_id),
                    vehicles,
                    times,
                    lngs,
                    lats,
                    [r[4] for r in part],
                    [r[5] for r in part],
                    nulls,
                    nulls,
                )
                if move:
                    # As the writer does: each vehicle's newest position of the chunk.
                    newest: dict[Any, tuple[Any, float, float]] = {}
                    for v, t, lng, lat in zip(vehicles, times, lngs, lats, strict=True):
                        if v not in newest or t > newest[v][0]:
                            newest[v] = (t, lng, lat)
                    await conn.fetch(
                        move_sql,
                        list(newest),
                        [n[0] for n in newest.values()],
                        [n[1] for n in newest.values()],
                        [n[2] for n in newest.values()],
                        *([[None] * len(newest)] * len(snaps)),
                    )
            stored = int(status.split()[-1])  # "INSERT 0 <rows>"
            if stored != len(part):
                raise RuntimeError(f"insert ceiling: {stored} new rows of {len(part)}")
        seconds = time.perf_counter() - started
    finally:
        await conn.close()
    return Ceiling(
        "insert+update (RLS)" if move else "insert (RLS)",
        "the writer's INSERT ... unnest"
        + (" + vehicle UPDATE" if move else "")
        + " as the app role under row-level security, into live_vehicle_positions",
        len(rows),
        chunk,
        round(seconds, 2),
        round(len(rows) / seconds, 1),
    )


# --- the run --------------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    database: str
    redis_db: int
    vehicles: int
    machine: dict[str, Any]
    phases: list[Phase] = field(default_factory=list)
    ceilings: list[Ceiling] = field(default_factory=list)


async def run_configuration(
    args: argparse.Namespace, report: Report, processes: int, index: int
) -> Fleet:
    redis_url = redis_db_url(args.redis_db)
    servers = ApiServers(args.database, redis_url, env=dict(args.api_env), profile=args.profile_api)
    redis = Redis.from_url(redis_url)
    phases: list[tuple[Phase, Load]] = []
    try:
        servers.start(processes)
        await servers.wait_ready()
        fleet = await create_fleet(servers.urls[0], args.vehicles, f"ingest{processes}")
        tag(f"{processes} API process(es) ready; {args.vehicles} vehicles")
        plan = [
            Phase(
                "singles",
                processes,
                args.concurrency,
                1,
                args.duration,
                args.warmup,
                args.client,
                target_per_s=TARGET_SINGLE_PER_S,
                target_p99_ms=TARGET_SINGLE_P99_MS,
            ),
            Phase(
                "batches",
                processes,
                args.batch_concurrency,
                args.batch_size,
                args.duration,
                args.warmup,
                args.client,
                target_per_s=TARGET_BATCH_PER_S,
            ),
        ]
        for n, phase in enumerate(plan):
            if phase.name not in args.phases:
                continue
            tag(
                f"{phase.name}: {phase.concurrency} in flight for {args.warmup + args.duration:g} s"
            )
            stamps = Stamps(phase_base(index * 4 + n))
            load = await run_phase(phase, fleet, servers, redis, stamps, args.seed + n)
            tag(
                f"{phase.name}: {phase.positions_per_s:,.0f} positions/s,"
                f" p99 {phase.ack_p99_ms:.1f} ms, feed drained {phase.feed_drain_s} s later"
            )
            phases.append((phase, load))
            if phase.failed:
                # What the API said about the refused requests.
                sys.stderr.write(servers.tail(6000) + "\n")
    except Exception:
        sys.stderr.write(servers.tail() + "\n")
        raise
    finally:
        # Stopping the API flushes its writer: everything acknowledged is in the table now.
        servers.stop()
        await redis.aclose()
    for phase, load in phases:
        await reconcile(args.database, fleet, phase, load)
        report.phases.append(phase)
    return fleet


async def run(args: argparse.Namespace) -> Report:
    report = Report(args.database, args.redis_db, args.vehicles, machine_note())
    tag(f"preparing {args.database}")
    await prepare_database(args.database)
    await flush_redis(redis_db_url(args.redis_db))
    fleet: Fleet | None = None
    for index, processes in enumerate(args.api_processes):
        fleet = await run_configuration(args, report, processes, index)
    if fleet is not None and args.ceiling_rows > 0:
        for n, chunk in enumerate(args.ceiling_chunks):
            tag(f"ceiling: {args.ceiling_rows:,} rows in chunks of {chunk}")
            # Each insert variant gets rows of its own: the table keeps what the last wrote.
            bases = [phase_base(19) + timedelta(minutes=10 * (2 * n + i)) for i in range(2)]
            rows = ceiling_rows(fleet, args.ceiling_rows, bases[0], args.seed)
            for table, like in (
                ("bench_positions", "INCLUDING DEFAULTS"),
                ("bench_positions_indexed", "INCLUDING DEFAULTS INCLUDING INDEXES"),
            ):
                report.ceilings.append(await copy_ceiling(args.database, table, like, rows, chunk))
            report.ceilings.append(
                await insert_ceiling(args.database, fleet, rows, chunk, move=False)
            )
            rows = ceiling_rows(fleet, args.ceiling_rows, bases[1], args.seed)
            report.ceilings.append(
                await insert_ceiling(args.database, fleet, rows, chunk, move=True)
            )
    return report


# --- output ---------------------------------------------------------------------------------


def verdict(met: bool | None) -> str:
    return "-" if met is None else ("MET" if met else "NOT MET")


def print_report(report: Report) -> None:
    m = report.machine
    print(
        f"\nIngestion on {m['cores']} cores (load average {m['load_avg_1m_at_start']} at start;"
        f" {m['note']}). Database {report.database}, Redis db {report.redis_db},"
        f" {report.vehicles} vehicles.\n"
    )
    header = (
        f"{'phase':<8} {'client':>6} {'procs':>5} {'in flight':>9} {'size':>5} {'positions/s':>12}"
        f" {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"
        f" {'acked':>8} {'stored':>8} {'lost':>5} {'failed':>6}  verdict"
    )
    print(header)
    print("-" * len(header))
    for p in report.phases:
        print(
            f"{p.name:<8} {p.client:>6} {p.api_processes:>5} {p.concurrency:>9} {p.batch_size:>5}"
            f" {p.positions_per_s:>12,.0f} {p.requests_per_s:>8,.0f} {p.ack_p50_ms:>7.1f}"
            f" {p.ack_p95_ms:>7.1f} {p.ack_p99_ms:>7.1f} {p.ack_max_ms:>7.1f}"
            f" {p.positions_acked:>8} {p.stored_rows if p.stored_rows is not None else '-':>8}"
            f" {p.lost if p.lost is not None else '-':>5} {sum(p.failed.values()):>6}"
            f"  {verdict(p.met)}"
        )
    print(
        "\nCPU seconds in each measured window (API | load generator | its PostgreSQL"
        " backends | the rest of the machine):"
    )
    for p in report.phases:
        c = p.cpu
        print(
            f"  {p.name:<8} x{p.api_processes}: api {c.get('api_cpu_s', 0):.1f} s,"
            f" client {c.get('client_cpu_s', 0):.1f} s,"
            f" postgres {c.get('postgres_cpu_s', 0):.1f} s,"
            f" other {c.get('other_cpu_s', 0):.1f} s"
            f" over {c.get('wall_s', 0):.1f} s ({c.get('machine_busy_pct', 0):.0f} % of the"
            f" machine busy); {c.get('pg_sessions_opened', 0)} new PostgreSQL sessions and"
            f" {c.get('pg_commits', 0)} commits in the bench database;"
            f" API RSS after {p.api_rss_mib_after:.0f} MiB; feed published"
            f" {p.feed_published} (server-wide PUBLISH count), last {p.feed_drain_s} s after"
            f" the load stopped; duplicates {p.duplicates}, rejected {p.rejected},"
            f" stored unacknowledged {p.stored_unacknowledged}, failures {p.failed or 'none'}"
        )
    if report.ceilings:
        print("\nCeiling (API stopped; one connection, sequential, one transaction per chunk):")
        for ceiling in report.ceilings:
            print(
                f"  {ceiling.name:<22} {ceiling.rows_per_s:>10,.0f} rows/s  ({ceiling.rows:,} rows"
                f" in chunks of {ceiling.chunk}, {ceiling.seconds:.2f} s): {ceiling.path}"
            )
    print(
        f"\nTargets: singles >= {TARGET_SINGLE_PER_S:,.0f}/s with p99 < {TARGET_SINGLE_P99_MS:.0f}"
        f" ms; batches >= {TARGET_BATCH_PER_S:,.0f}/s; 0 lost."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "DB_POOL_SIZE=30")
    parser.add_argument("--duration", type=float, default=20.0, help="measured s per phase")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured s before each")
    parser.add_argument("--concurrency", type=int, default=64, help="single POSTs in flight")
    parser.add_argument(
        "--client",
        choices=("raw", "httpx"),
        default="raw",
        help="load generator: a lean keep-alive HTTP/1.1 client, or one httpx client per request"
        " in flight (costlier: it takes CPU from the API on this machine)",
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--batch-concurrency", type=int, default=8, help="batches in flight")
    parser.add_argument(
        "--api-processes",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[1],
        help="API processes per configuration, e.g. 1,2 (clients go round robin)",
    )
    parser.add_argument(
        "--phases",
        type=lambda s: s.split(","),
        default=["singles", "batches"],
        help="singles,batches",
    )
    parser.add_argument("--ceiling-rows", type=int, default=100_000, help="0 skips the ceiling")
    parser.add_argument(
        "--ceiling-chunks",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[500, 5000],
        help="rows per transaction in the ceiling: the batch size, and the writer's largest flush",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.duration <= 0 or args.warmup < 0 or args.concurrency < 1:
        parser.error("--duration > 0, --warmup >= 0, --concurrency >= 1")
    if not 1 <= args.batch_size <= 1000 or args.batch_concurrency < 1:
        parser.error("--batch-size in 1..1000 (the API's limit), --batch-concurrency >= 1")
    # Phases take an hour of recorded_at each, counted back from the ceiling's hour.
    if not 1 <= len(args.api_processes) <= 3 or not 1 <= min(args.api_processes) <= 8:
        parser.error("--api-processes: 1 to 3 configurations of 1 to 8 processes")
    if set(args.phases) - {"singles", "batches"}:
        parser.error("--phases from singles,batches")
    if args.ceiling_rows < 0 or not args.ceiling_chunks or min(args.ceiling_chunks) < 1:
        parser.error("--ceiling-rows >= 0, --ceiling-chunks >= 1")
    check_common_arguments(parser, args)
    report = asyncio.run(run(args))
    if args.json:
        print_json(report, "phases", lambda p: {"met": p.met})
    else:
        print_report(report)


if __name__ == "__main__":
    run_main(main)
