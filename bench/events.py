"""The event backbone under load: commit-to-consumer lag, relay ceiling, nothing lost or
applied twice, with and without crashes.

    .venv/bin/python bench/events.py                   # 60 s at ~2,000 events/s
    .venv/bin/python bench/events.py --kill            # the same, SIGKILLing the active relay
                                                       # at 1/3 and the consumer at 2/3
    .venv/bin/python bench/events.py --duration 20 --rate 1000 --relay-ceiling 0 --json

Works in its own database (default omniroute_bench_events: recreated from the PostGIS
template and migrated on every run) and its own Redis database (default 8, flushed at
start). Starts `python app.py` (its own relay off), two relay processes
(`python -m tasks.events --groups ''`: one active, one standing by) and one `analytics`
consumer process (`--no-relay --groups analytics`), and stops them on every exit path.

Load, open loop, for --duration seconds: every 50 ms one POST /api/v1/tracking/batch of
vehicles' positions (each stored position of a vehicle emits `vehicle.position_updated`,
POSITION_EVENT_SAMPLE_S=0) and one PATCH /api/v1/vehicles/{id} (`vehicle.updated`), sized to
--rate events/s in all. With 1,000 vehicles (the default) a batch never holds a vehicle
twice within one writer flush, so every stored position is one event.

Figures:
- lag: from each event's envelope timestamp (taken in the committing transaction) to its
  arrival at a probe consumer group that this script runs on the streams (XREADGROUP);
- lost: events committed (the `analytics_events` rows, written in the same transactions)
  that the probe never received; duplicates: entries the probe received twice;
- applied: the analytics consumer's per-topic counts against the committed events (a count
  above means an event applied twice, below means one lost);
- relay ceiling (--relay-ceiling N): N events written straight into the outbox while no
  relay runs, then the time one relay takes to publish them all.
Everything runs on one machine: API, PostgreSQL, Redis, relays, consumer and this script
share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import asyncpg  # noqa: E402
import httpx  # noqa: E402
import orjson  # noqa: E402
from _common import ROOT, owner_url, prepare_database, redis_db_url, signal_group  # noqa: E402
from _live_setup import (  # noqa: E402
    CENTRE,
    ApiServers,
    RawHttp,
    app_url,
    check_environment,
    create_fleet,
    flush_redis,
    log,
    percentile,
    run_main,
)
from redis.asyncio import Redis  # noqa: E402
from redis.exceptions import ResponseError  # noqa: E402

TAG = "events"
TICK_S = 0.05
PROBE_GROUP = "bench-probe"
TOPICS = ("vehicle.position_updated", "vehicle.updated")


@dataclass
class Report:
    duration_s: float
    target_rate: int
    kill: bool
    committed: int = 0
    achieved_rate: float = 0.0
    lag_p50_ms: float = 0.0
    lag_p99_ms: float = 0.0
    lag_max_ms: float = 0.0
    lost: int = 0
    duplicates_delivered: int = 0
    applied_counts: dict[str, int] = field(default_factory=dict)
    committed_counts: dict[str, int] = field(default_factory=dict)
    drain_s: float = 0.0
    relay_ceiling_events: int = 0
    relay_ceiling_per_s: float = 0.0
    kills: list[str] = field(default_factory=list)


class EventsProcesses:
    """`python -m tasks.events` children, each in a session of its own."""

    def __init__(self, database: str, redis_url: str) -> None:
        self._env = {
            **os.environ,
            "DATABASE_URL": owner_url(database),
            "REDIS_URL": redis_url,
            "ENVIRONMENT": "development",
            "LOG_LEVEL": "WARNING",
            "CONSUMER_CLAIM_IDLE_MS": "2000",
        }
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: list[IO[bytes]] = []

    def start(self, name: str, *args: str) -> None:
        log_file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop_all())
        self._logs.append(log_file)
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "tasks.events", *args],
            cwd=ROOT,
            env=self._env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        signal_group(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            signal_group(proc.pid, signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        self.procs.clear()
        for log_file in self._logs:
            log_file.close()


class Probe:
    """A consumer group of its own on the streams: when each event arrives, and how often."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self.seen: dict[str, float] = {}
        self.duplicates = 0
        self.lags_ms: list[float] = []
        self._stop = False

    async def run(self) -> None:
        streams = {f"events:{topic}": ">" for topic in TOPICS}
        for stream in streams:
            with contextlib.suppress(ResponseError):
                await self._redis.xgroup_create(stream, PROBE_GROUP, id="0", mkstream=True)
        while not self._stop:
            response = await self._redis.xreadgroup(
                PROBE_GROUP, "probe", streams, count=1000, block=100
            )
            now = time.time()
            for stream, entries in response or []:
                for _, fields in entries:
                    envelope = orjson.loads(fields[b"event"])
                    event_id = envelope["event_id"]
                    if event_id in self.seen:
                        self.duplicates += 1
                        continue
                    stamp = datetime.fromisoformat(envelope["timestamp"].replace("Z", "+00:00"))
                    self.seen[event_id] = now
                    self.lags_ms.append((now - stamp.timestamp()) * 1000)
                if entries:
                    await self._redis.xack(stream, PROBE_GROUP, *[e[0] for e in entries])

    def stop(self) -> None:
        self._stop = True


async def load(api: str, token: str, vehicles: list[str], *, rate: int, duration_s: float) -> None:
    """Open loop: each tick, one batch of positions and one vehicle update."""
    per_tick = max(1, round(rate * TICK_S))
    batch_size = max(1, min(len(vehicles), per_tick - 1))
    connections = [RawHttp(api, token) for _ in range(8)]
    free: asyncio.Queue[RawHttp] = asyncio.Queue()
    for conn in connections:
        free.put_nowait(conn)
    headers = {"Authorization": f"Bearer {token}"}
    tasks: set[asyncio.Task[None]] = set()
    cursor = 0

    async def post_batch(body: bytes) -> None:
        conn = await free.get()
        try:
            status, payload = await conn.post("/api/v1/tracking/batch", body)
            if status != 201 and status != 200:
                log(TAG, f"batch answered {status}: {payload[:200]!r}")
        finally:
            free.put_nowait(conn)

    async with httpx.AsyncClient(base_url=api, headers=headers, timeout=30) as client:

        async def patch(vehicle: str, capacity: float) -> None:
            answer = await client.patch(
                f"/api/v1/vehicles/{vehicle}", json={"capacity_kg": capacity}
            )
            if answer.status_code != 200:
                log(TAG, f"patch answered {answer.status_code}")

        started = time.monotonic()
        tick = 0
        while time.monotonic() - started < duration_s:
            now = datetime.now(UTC)
            positions = []
            for n in range(batch_size):
                vehicle = vehicles[(cursor + n) % len(vehicles)]
                positions.append(
                    {
                        "vehicle_id": vehicle,
                        "lng": CENTRE[0] + (tick % 100) * 1e-4,
                        "lat": CENTRE[1] + n * 1e-5,
                        "recorded_at": (now + timedelta(microseconds=n)).isoformat(),
                    }
                )
            cursor = (cursor + batch_size) % len(vehicles)
            for job in (
                post_batch(orjson.dumps({"positions": positions})),
                patch(vehicles[tick % len(vehicles)], 900 + tick % 50),
            ):
                task = asyncio.create_task(job)
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            tick += 1
            await asyncio.sleep(max(0.0, started + tick * TICK_S - time.monotonic()))
        await asyncio.gather(*tasks)
    for conn in connections:
        await conn.close()


@dataclass(frozen=True, slots=True)
class Ledger:
    committed: dict[str, int]
    event_ids: set[str]
    applied: dict[str, int]


async def ledger(database: str, workspace: str) -> Ledger:
    """The committed events (their analytics_events rows) and the analytics counts."""
    conn = await asyncpg.connect(owner_url(database))
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace)
            rows = await conn.fetch(
                "SELECT id::text, event_type FROM analytics_events WHERE event_type = ANY($1)",
                list(TOPICS),
            )
            counts = await conn.fetch("SELECT topic, event_count FROM event_topic_counts")
    finally:
        await conn.close()
    committed: dict[str, int] = {}
    for row in rows:
        committed[row["event_type"]] = committed.get(row["event_type"], 0) + 1
    applied = {r["topic"]: int(r["event_count"]) for r in counts if r["topic"] in TOPICS}
    return Ledger(committed, {r["id"] for r in rows}, applied)


async def reconcile(database: str, workspace: str, probe: Probe, report: Report) -> None:
    """Wait until the probe and the analytics consumer caught up (or 120 s), then count."""
    started = time.monotonic()
    while True:
        book = await ledger(database, workspace)
        caught_up = book.event_ids <= probe.seen.keys() and book.applied == book.committed
        if caught_up or time.monotonic() - started > 120:
            break
        await asyncio.sleep(0.5)
    report.drain_s = round(time.monotonic() - started, 2)
    report.committed_counts = book.committed
    report.applied_counts = book.applied
    report.committed = sum(book.committed.values())
    report.lost = len(book.event_ids - probe.seen.keys())
    report.duplicates_delivered = probe.duplicates
    lags = sorted(probe.lags_ms)
    report.lag_p50_ms = round(percentile(lags, 50), 1)
    report.lag_p99_ms = round(percentile(lags, 99), 1)
    report.lag_max_ms = round(lags[-1], 1) if lags else 0.0


async def relay_ceiling(database: str, workspace: str, processes: EventsProcesses, n: int) -> float:
    """Events per second one relay publishes from a full outbox."""
    envelope = orjson.dumps(
        {
            "event_id": str(uuid.uuid4()),
            "event_type": "bench.ceiling",
            "workspace_id": workspace,
            "actor_id": None,
            "timestamp": datetime.now(UTC).isoformat(),
            "data": {"vehicle_id": str(uuid.uuid4()), "lat": 12.97, "lng": 77.59, "speed": 31.5},
            "version": 1,
        }
    ).decode()
    conn = await asyncpg.connect(app_url(database))
    try:
        async with conn.transaction():
            await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace)
            await conn.execute(
                "INSERT INTO event_outbox (workspace_id, event_id, topic, envelope)"
                " SELECT $1::uuid, gen_random_uuid(), 'bench.ceiling', $2"
                " FROM generate_series(1, $3)",
                workspace,
                envelope,
                n,
            )
        processes.start("ceiling-relay", "--groups", "")
        started = None
        while True:
            pending = await conn.fetchval("SELECT pending FROM event_outbox_backlog()")
            if started is None and pending < n:
                started = time.monotonic()
            if pending == 0:
                break
            await asyncio.sleep(0.02)
        assert started is not None
        return n / max(1e-6, time.monotonic() - started)
    finally:
        await conn.close()


async def run(args: argparse.Namespace) -> Report:
    report = Report(duration_s=args.duration, target_rate=args.rate, kill=args.kill)
    redis_url = redis_db_url(args.redis_db)
    log(TAG, f"preparing {args.database}")
    await prepare_database(args.database)
    await flush_redis(redis_url)
    api = ApiServers(
        args.database,
        redis_url,
        {"EVENT_RELAY_IN_API": "false", "POSITION_EVENT_SAMPLE_S": "0"},
        profile=False,
    )
    processes = EventsProcesses(args.database, redis_url)
    redis = Redis.from_url(redis_url)
    probe = Probe(redis)
    try:
        [url] = api.start(1)
        processes.start("relay-a", "--groups", "")
        await asyncio.sleep(1.0)  # relay-a takes the lock first
        processes.start("relay-b", "--groups", "")
        processes.start("consumer-a", "--no-relay", "--groups", "analytics")
        await api.wait_ready()
        fleet = await create_fleet(url, args.vehicles, TAG)
        probe_task = asyncio.create_task(probe.run())
        load_task = asyncio.create_task(
            load(url, fleet.token, fleet.vehicle_ids, rate=args.rate, duration_s=args.duration)
        )
        if args.kill:
            await asyncio.sleep(args.duration / 3)
            processes.kill("relay-a")
            report.kills.append(f"relay-a SIGKILLed at {args.duration / 3:.0f} s")
            processes.start("relay-c", "--groups", "")
            await asyncio.sleep(args.duration / 3)
            processes.kill("consumer-a")
            report.kills.append(f"consumer-a SIGKILLed at {2 * args.duration / 3:.0f} s")
            processes.start("consumer-b", "--no-relay", "--groups", "analytics")
        await load_task
        await reconcile(args.database, fleet.workspace_id, probe, report)
        report.achieved_rate = round(report.committed / args.duration, 1)
        probe.stop()
        await probe_task
        if args.relay_ceiling:
            for name in [n for n in processes.procs if n.startswith("relay")]:
                processes.kill(name)
            report.relay_ceiling_events = args.relay_ceiling
            per_s = await relay_ceiling(
                args.database, fleet.workspace_id, processes, args.relay_ceiling
            )
            report.relay_ceiling_per_s = round(per_s)
    finally:
        processes.stop_all()
        api.stop()
        await redis.aclose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omniroute_bench_events")
    parser.add_argument("--redis-db", type=int, default=8)
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=2000, help="events per second in all")
    parser.add_argument("--vehicles", type=int, default=1000)
    parser.add_argument("--kill", action="store_true")
    parser.add_argument("--relay-ceiling", type=int, default=100_000)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    check_environment(args.database)
    report = asyncio.run(run(args))
    if args.json:
        print(json.dumps(asdict(report), indent=2))
        return
    print(
        f"{report.committed} events committed in {report.duration_s:.0f} s"
        f" ({report.achieved_rate}/s, target {report.target_rate}/s)"
        + (f"; {'; '.join(report.kills)}" if report.kills else "")
    )
    print(
        f"commit-to-consumer lag: p50 {report.lag_p50_ms} ms, p99 {report.lag_p99_ms} ms,"
        f" max {report.lag_max_ms} ms"
    )
    print(
        f"lost {report.lost}, delivered twice {report.duplicates_delivered};"
        f" analytics applied {report.applied_counts} of {report.committed_counts}"
        f" (drained {report.drain_s} s after the load)"
    )
    if report.relay_ceiling_events:
        print(
            f"relay ceiling: {report.relay_ceiling_per_s:.0f} events/s"
            f" ({report.relay_ceiling_events} from a full outbox)"
        )


if __name__ == "__main__":
    run_main(main)
