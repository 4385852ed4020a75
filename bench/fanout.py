"""Live-map fan-out: delivery latency from POST to receipt, and gaps, with many subscribers.

    .venv/bin/python bench/fanout.py                       # ladder up to 1,000 subscribers
    .venv/bin/python bench/fanout.py --ladder 1000 --duration 20 --protocols graphql
    .venv/bin/python bench/fanout.py --json

Works in its own database (default omniroute_bench_live: recreated from the PostGIS template
and migrated on every run) and its own Redis database (default 13, flushed at start). Starts
`python app.py` on a free loopback port and stops it on every exit path, Ctrl-C included.

One workspace with 100 vans; each reports --rate positions per second (10: 1,000 positions/s
in all), posted in batches every --post-interval-ms to /api/v1/tracking/batch. Each position
carries its send time as `recorded_at`, so a subscriber's latency is its receive time minus
`recorded_at`: POST to receipt, through the writer's commit, Redis and the per-process hub.

For each protocol (GraphQL `vehicleMoved` over graphql-transport-ws; the raw `/ws/tracking`
dashboard socket, one message per frame; and `ws-batch`, the same socket with `?batch=true`:
one JSON array per frame, at most one per DASHBOARD_FRAME_MS, 50 ms) and each subscriber
count of the ladder: open the sockets
(the `websockets` package, all in this process), wait until every one has received a probe
position, post for --duration seconds, wait for the stragglers, then count per subscriber
what it received against what the API acknowledged. A step passes with p99 < 250 ms, no
gap (every subscriber received every position) and no subscriber dropped.

Everything runs on one machine: the API, PostgreSQL, Redis and this process (publisher and
every subscriber) share its cores; the CPU seconds of each are reported per step. At the full
target (1,000 subscribers x 1,000 positions/s = 1,000,000 messages/s out) the subscribers'
own decoding is a large part of the load.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# The bench's helper and the project's packages, whichever folder this is started from.
sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]

import orjson  # noqa: E402
from _common import prepare_database, redis_db_url  # noqa: E402
from _live_setup import (  # noqa: E402
    CENTRE,
    ApiServers,
    CpuMeter,
    Fleet,
    RawHttp,
    add_common_arguments,
    check_common_arguments,
    create_fleet,
    flush_redis,
    log,
    machine_note,
    print_json,
    run_main,
)
from websockets.asyncio.client import ClientConnection, connect  # noqa: E402
from websockets.typing import Subprotocol  # noqa: E402

TARGET_P99_MS = 250.0
TARGET_SUBSCRIBERS = 1_000
TARGET_RATE = 1_000.0
MOVED = "subscription { vehicleMoved { vehicleId recordedAt } }"
FLEET_MOVED = "subscription { fleetMoved { vehicleId recordedAt } }"
GRAPHQL = ("graphql", "graphql-batch")
BATCHED = ("ws-batch", "graphql-batch")
# Latency histogram: 1 ms buckets up to a minute (later ones land in the last bucket).
BUCKETS = 60_000
CONNECT_PARALLEL = 50
READY_TIMEOUT_S = 60.0
SETTLE_TIMEOUT_S = 30.0
SETTLE_QUIET_S = 3.0
MAX_POSTS_IN_FLIGHT = 16


def tag(message: str) -> None:
    log("fanout", message)


# --- subscribers ----------------------------------------------------------------------------


class Latencies:
    """A 1 ms histogram: a million deliveries a second cannot each be kept."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts = [0] * BUCKETS
        self.total = 0
        self.max_ms = 0.0

    def add(self, ms: float) -> None:
        bucket = min(BUCKETS - 1, max(0, int(ms)))
        self.counts[bucket] += 1
        self.total += 1
        if ms > self.max_ms:
            self.max_ms = ms

    def percentile(self, q: float) -> float:
        """Upper edge of the bucket holding the q-th percentile, in ms."""
        if not self.total:
            return 0.0
        rank = q / 100 * self.total
        seen = 0
        for bucket, count in enumerate(self.counts):
            seen += count
            if seen >= rank:
                return float(bucket + 1)
        return float(BUCKETS)


@dataclass(slots=True)
class Subscriber:
    index: int
    received: int = 0
    ready: bool = False
    counting: bool = False
    ended: str | None = None
    ws: ClientConnection | None = None
    task: asyncio.Task[None] | None = None


def _recorded_at(message: dict[str, Any], protocol: str) -> str | None:
    """The position's recorded_at in a delivered message, or None for anything else."""
    if protocol == "graphql":
        if message.get("type") != "next":
            return None
        data = message["payload"].get("data")
        if not data:  # the subscription ended with an error (a dropped slow subscriber)
            raise RuntimeError(str(message["payload"].get("errors"))[:200])
        # GraphQL's DateTime scalar writes UTC as +00:00, the REST and socket messages as Z.
        return str(data["vehicleMoved"]["recordedAt"]).replace("+00:00", "Z")
    if message.get("type") != "vehicle_moved":
        return None
    return str(message["recorded_at"])


class Subscribers:
    def __init__(self, base_url: str, fleet: Fleet, protocol: str, compression: bool) -> None:
        ws_base = base_url.replace("http://", "ws://", 1)
        self.protocol = protocol
        self.url = (
            f"{ws_base}/graphql"
            if protocol in GRAPHQL
            else f"{ws_base}/ws/tracking?token={fleet.token}"
            + ("&batch=true" if protocol == "ws-batch" else "")
        )
        self.token = fleet.token
        self.compression = "deflate" if compression else None
        self.subs: list[Subscriber] = []
        self.latency = Latencies()
        self.latency_every = 1
        # Parsing recorded_at again for every subscriber would cost more than the receipt.
        self._sent_at: dict[str, float] = {}

    def expect(self, recorded_at: str, sent_at: float) -> None:
        self._sent_at[recorded_at] = sent_at

    async def _open(self, sub: Subscriber) -> None:
        ws = await connect(
            self.url,
            subprotocols=[Subprotocol("graphql-transport-ws")]
            if self.protocol in GRAPHQL
            else None,
            compression=self.compression,
            max_size=None,
            max_queue=None,
            ping_interval=None,
            open_timeout=60,
        )
        sub.ws = ws
        if self.protocol in GRAPHQL:
            query = MOVED if self.protocol == "graphql" else FLEET_MOVED
            await ws.send(
                orjson.dumps(
                    {
                        "type": "connection_init",
                        "payload": {"Authorization": f"Bearer {self.token}"},
                    }
                ).decode()
            )
            ack = orjson.loads(await ws.recv())
            if ack.get("type") != "connection_ack":
                raise RuntimeError(f"connection_init refused: {ack}")
            await ws.send(
                orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode()
            )
        sub.task = asyncio.create_task(self._read(sub, ws))

    async def _read(self, sub: Subscriber, ws: ClientConnection) -> None:
        protocol, sent_at, latency = self.protocol, self._sent_at, self.latency
        try:
            async for raw in ws:
                now = time.time()
                if protocol == "ws-batch":
                    self._frame(sub, raw, now)
                    continue
                if protocol == "graphql-batch":
                    if not self._graphql_frame(sub, raw, now):
                        return
                    continue
                message = orjson.loads(raw)
                recorded_at = _recorded_at(message, protocol)
                if recorded_at is None:
                    if message.get("type") in ("error", "complete"):
                        sub.ended = f"{message['type']}: {str(message.get('payload'))[:200]}"
                        return
                    continue
                sub.ready = True
                if not sub.counting:
                    continue
                sub.received += 1
                sent = sent_at.get(recorded_at)
                if sent is not None:
                    latency.add((now - sent) * 1000)
        except Exception as exc:  # a closed or broken socket ends this subscriber
            sub.ended = f"{type(exc).__name__}: {exc}"[:200]
        else:
            code = ws.close_code
            sub.ended = f"closed by the server ({code})"

    def _frame(self, sub: Subscriber, raw: str | bytes, now: float) -> None:
        """A ws-batch frame: a JSON array of messages. Every subscriber counts its
        positions (a substring count: the frames are the API's own compact orjson text);
        one in `latency_every` also decodes them and times each, so that the subscribers'
        decoding does not take the cores the API needs. The sample is spread over the
        subscribers' order, which is the order the API sends in."""
        text = raw if isinstance(raw, str) else raw.decode()
        moved = text.count('"type":"vehicle_moved"')
        sub.ready = sub.ready or moved > 0
        if not sub.counting:
            return
        sub.received += moved
        if sub.index % self.latency_every:
            return
        for message in orjson.loads(text):
            if message["type"] == "vehicle_moved":
                sent = self._sent_at.get(message["recorded_at"])
                if sent is not None:
                    self.latency.add((now - sent) * 1000)

    def _graphql_frame(self, sub: Subscriber, raw: str | bytes, now: float) -> bool:
        """A graphql-batch `next` message: the fleetMoved list of one frame, counted and
        sampled as ws-batch frames are. False once the subscription has ended."""
        text = raw if isinstance(raw, str) else raw.decode()
        moved = text.count('"recordedAt"')
        if not moved:
            message = orjson.loads(text)
            if message.get("type") in ("error", "complete"):
                sub.ended = f"{message['type']}: {str(message.get('payload'))[:200]}"
                return False
            return True
        sub.ready = True
        if not sub.counting:
            return True
        sub.received += moved
        if sub.index % self.latency_every:
            return True
        for move in orjson.loads(text)["payload"]["data"]["fleetMoved"]:
            sent = self._sent_at.get(str(move["recordedAt"]).replace("+00:00", "Z"))
            if sent is not None:
                self.latency.add((now - sent) * 1000)
        return True

    async def open(self, count: int) -> None:
        gate = asyncio.Semaphore(CONNECT_PARALLEL)

        async def one(i: int) -> None:
            sub = Subscriber(i)
            self.subs.append(sub)
            async with gate:
                try:
                    await self._open(sub)
                except Exception as exc:
                    sub.ended = f"connect: {type(exc).__name__}: {exc}"[:200]

        await asyncio.gather(*(one(i) for i in range(count)))

    def count_from_now(self) -> None:
        for sub in self.subs:
            sub.received = 0
            sub.counting = True
        self.latency.reset()

    async def close(self) -> None:
        for sub in self.subs:
            if sub.task is not None:
                sub.task.cancel()
        for sub in self.subs:
            if sub.ws is not None:
                try:
                    await asyncio.wait_for(sub.ws.close(), 2)
                except Exception:
                    sub.ws.transport.abort()
        await asyncio.gather(
            *(s.task for s in self.subs if s.task is not None), return_exceptions=True
        )
        self.subs.clear()
        self._sent_at.clear()


# --- the publisher --------------------------------------------------------------------------


@dataclass(slots=True)
class Posted:
    offered: int = 0
    acked: int = 0
    failed: int = 0
    skipped_ticks: int = 0
    why_failed: dict[str, int] = field(default_factory=dict)

    def fail(self, count: int, why: str) -> None:
        self.failed += count
        self.why_failed[why] = self.why_failed.get(why, 0) + count


class Publisher:
    """100 vans, each reporting `rate` times a second, posted in batches every interval."""

    def __init__(
        self,
        base_url: str,
        fleet: Fleet,
        rate: float,
        interval_s: float,
        on_send: Callable[[str, float], None],
    ) -> None:
        self.base_url = base_url
        self.fleet = fleet
        # One keep-alive connection per post in flight, reused.
        self.idle: list[RawHttp] = []
        self.connections: list[RawHttp] = []
        self.per_tick = rate * len(fleet.vehicle_ids) * interval_s
        self.interval_s = interval_s
        self.on_send = on_send
        self.rng = random.Random(7)
        self.vehicles = itertools.cycle(fleet.vehicle_ids)
        self.last_stamp = 0.0
        self.posted = Posted()

    def _stamp(self) -> tuple[str, float]:
        # Strictly increasing, so that (vehicle, recorded_at) never repeats.
        now = max(time.time(), self.last_stamp + 1e-6)
        self.last_stamp = now
        # In the API's own form (UTC as Z), as it comes back in the live messages.
        return datetime.fromtimestamp(now, UTC).isoformat().replace("+00:00", "Z"), now

    async def _post(self, count: int) -> None:
        positions = []
        for _ in range(count):
            recorded_at, sent = self._stamp()
            self.on_send(recorded_at, sent)
            positions.append(
                {
                    "vehicle_id": next(self.vehicles),
                    "lng": CENTRE[0] + self.rng.uniform(-0.2, 0.2),
                    "lat": CENTRE[1] + self.rng.uniform(-0.2, 0.2),
                    "speed": 30.0,
                    "recorded_at": recorded_at,
                }
            )
        self.posted.offered += count
        if not self.idle:
            self.connections.append(RawHttp(self.base_url, self.fleet.token))
            self.idle.append(self.connections[-1])
        http = self.idle.pop()
        try:
            status, body = await http.post(
                "/api/v1/tracking/batch", orjson.dumps({"positions": positions})
            )
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as exc:
            self.posted.fail(count, type(exc).__name__)
            return
        finally:
            self.idle.append(http)
        if status != 201:
            self.posted.fail(count, f"HTTP {status}")
            return
        data = orjson.loads(body)["data"]
        self.posted.acked += sum(1 for a in data["accepted"] if not a["duplicate"])
        if data["rejected"]:
            self.posted.fail(len(data["rejected"]), "rejected")

    async def single(self) -> None:
        await self._post(1)

    async def run(self, duration_s: float) -> None:
        """Open loop: a batch every interval whatever the API's pace, up to a bound in
        flight (a tick over the bound is skipped and counted)."""
        in_flight: set[asyncio.Task[None]] = set()
        carry = 0.0
        start = time.perf_counter()
        for tick in itertools.count():
            at = start + tick * self.interval_s
            if at >= start + duration_s:
                break
            await asyncio.sleep(max(0.0, at - time.perf_counter()))
            carry += self.per_tick
            count, carry = int(carry), carry - int(carry)
            if not count:
                continue
            if len(in_flight) >= MAX_POSTS_IN_FLIGHT:
                self.posted.skipped_ticks += 1
                continue
            task = asyncio.create_task(self._post(count))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        if in_flight:
            await asyncio.gather(*in_flight)

    async def close(self) -> None:
        for http in self.connections:
            await http.close()


# --- a step ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Step:
    protocol: str
    subscribers: int
    rate_per_s: float
    duration_s: float
    connected: int = 0
    ready: int = 0
    positions_acked: int = 0
    positions_failed: int = 0
    why_failed: dict[str, int] = field(default_factory=dict)
    skipped_ticks: int = 0
    achieved_rate_per_s: float = 0.0
    expected_deliveries: int = 0
    delivered: int = 0
    delivered_per_s: float = 0.0
    subscribers_with_gaps: int = 0
    missing: int = 0
    max_missing: int = 0
    dropped: int = 0
    drop_reasons: dict[str, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0
    settle_s: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    api_rss_mib: float = 0.0

    @property
    def met(self) -> bool:
        return (
            self.ready == self.subscribers
            # The offered load must have been carried, not shed by a slow API.
            and self.achieved_rate_per_s >= 0.95 * self.rate_per_s
            and self.p99_ms < TARGET_P99_MS
            and self.subscribers_with_gaps == 0
            and self.dropped == 0
            and self.positions_failed == 0
        )

    @property
    def load_msgs_per_s(self) -> float:
        return self.subscribers * self.rate_per_s


async def wait_for(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return condition()


async def settle(subs: Subscribers, expected: int) -> float:
    """Until every live subscriber has everything, or nothing arrives for a while."""
    started = time.perf_counter()
    last_total, last_change = -1, started
    while time.perf_counter() - started < SETTLE_TIMEOUT_S:
        live = [s for s in subs.subs if s.ended is None]
        total = sum(s.received for s in subs.subs)
        if all(s.received >= expected for s in live):
            break
        if total != last_total:
            last_total, last_change = total, time.perf_counter()
        elif time.perf_counter() - last_change > SETTLE_QUIET_S:
            break
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def run_step(
    step: Step,
    base_url: str,
    fleet: Fleet,
    servers: ApiServers,
    args: argparse.Namespace,
) -> None:
    subs = Subscribers(base_url, fleet, step.protocol, args.compression)
    if step.protocol in BATCHED:
        subs.latency_every = args.latency_every
    publisher = Publisher(base_url, fleet, args.rate, args.post_interval_ms / 1000, subs.expect)
    try:
        await subs.open(step.subscribers)
        step.connected = sum(1 for s in subs.subs if s.ended is None)
        # The probe: every subscription has reached the hub once each has had a position.
        probe_deadline = time.perf_counter() + READY_TIMEOUT_S
        while time.perf_counter() < probe_deadline:
            await publisher.single()
            if await wait_for(lambda: all(s.ready or s.ended for s in subs.subs), 1.0):
                break
        step.ready = sum(1 for s in subs.subs if s.ready and s.ended is None)
        await asyncio.sleep(0.5)  # the probe's stragglers arrive before counting starts
        publisher.posted = Posted()
        subs.count_from_now()
        meter = CpuMeter(servers)
        await meter.start()
        await publisher.run(step.duration_s)
        step.cpu = (await meter.stop()).as_dict()
        posted = publisher.posted
        step.settle_s = round(await settle(subs, posted.acked), 2)
        servers.check()
        step.positions_acked = posted.acked
        step.positions_failed = posted.failed
        step.why_failed = posted.why_failed
        step.skipped_ticks = posted.skipped_ticks
        step.achieved_rate_per_s = round(posted.acked / step.duration_s, 1)
        step.expected_deliveries = posted.acked * step.ready
        counted = [s for s in subs.subs if s.ready]
        step.delivered = sum(s.received for s in counted)
        step.delivered_per_s = round(step.delivered / step.duration_s, 1)
        short = [posted.acked - s.received for s in counted if s.received < posted.acked]
        step.subscribers_with_gaps = len(short) + (step.subscribers - len(counted))
        step.missing = sum(short)
        step.max_missing = max(short, default=0)
        for sub in subs.subs:
            if sub.ended is not None:
                step.dropped += 1
                reason = sub.ended.split(":")[0][:60]
                step.drop_reasons[reason] = step.drop_reasons.get(reason, 0) + 1
        lat = subs.latency
        step.p50_ms, step.p95_ms, step.p99_ms = (lat.percentile(q) for q in (50, 95, 99))
        step.max_ms = round(lat.max_ms, 1)
        step.api_rss_mib = round(servers.rss_mib(), 1)
    finally:
        await subs.close()
        await publisher.close()


# --- the run --------------------------------------------------------------------------------


@dataclass(slots=True)
class Report:
    database: str
    redis_db: int
    vehicles: int
    rate_per_vehicle_hz: float
    post_interval_ms: float
    compression: bool
    machine: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    largest_passing: dict[str, dict[str, Any] | None] = field(default_factory=dict)


async def run(args: argparse.Namespace) -> Report:
    report = Report(
        args.database,
        args.redis_db,
        args.vehicles,
        args.rate,
        args.post_interval_ms,
        args.compression,
        machine_note(),
    )
    tag(f"preparing {args.database}")
    await prepare_database(args.database)
    redis_url = redis_db_url(args.redis_db)
    await flush_redis(redis_url)
    servers = ApiServers(args.database, redis_url, env=dict(args.api_env), profile=args.profile_api)
    try:
        servers.start(1)
        await servers.wait_ready()
        fleet = await create_fleet(servers.urls[0], args.vehicles, "fanout")
        rate = args.rate * args.vehicles
        for protocol in args.protocols:
            for count in args.ladder:
                step = Step(protocol, count, rate, args.duration)
                tag(f"{protocol}: {count} subscribers, {rate:,.0f} positions/s")
                await run_step(step, servers.urls[0], fleet, servers, args)
                report.steps.append(step)
                tag(
                    f"{protocol} x{count}: p50 {step.p50_ms:.0f} ms, p99 {step.p99_ms:.0f} ms,"
                    f" {step.delivered_per_s:,.0f} msgs/s out, gaps {step.subscribers_with_gaps},"
                    f" dropped {step.dropped}: {'MET' if step.met else 'NOT MET'}"
                )
                if args.stop_on_failure and not step.met:
                    break
    except Exception:
        sys.stderr.write(servers.tail() + "\n")
        raise
    finally:
        servers.stop()
    for protocol in args.protocols:
        passing = [s for s in report.steps if s.protocol == protocol and s.met]
        best = max(passing, key=lambda s: s.load_msgs_per_s, default=None)
        report.largest_passing[protocol] = (
            {"subscribers": best.subscribers, "msgs_per_s": best.load_msgs_per_s} if best else None
        )
    return report


# --- output ---------------------------------------------------------------------------------


def print_report(report: Report) -> None:
    m = report.machine
    print(
        f"\nFan-out on {m['cores']} cores (load average {m['load_avg_1m_at_start']} at start;"
        f" {m['note']}). {report.vehicles} vehicles x {report.rate_per_vehicle_hz:g} Hz, posted"
        f" in batches every {report.post_interval_ms:g} ms; websocket compression"
        f" {'on' if report.compression else 'off'}.\n"
    )
    header = (
        f"{'protocol':<13} {'subs':>5} {'ready':>5} {'pos/s':>7} {'target out/s':>12}"
        f" {'delivered/s':>11} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>8}"
        f" {'gaps':>5} {'missing':>9} {'dropped':>7}  verdict"
    )
    print(header)
    print("-" * len(header))
    for s in report.steps:
        print(
            f"{s.protocol:<13} {s.subscribers:>5} {s.ready:>5} {s.achieved_rate_per_s:>7,.0f}"
            f" {s.load_msgs_per_s:>12,.0f} {s.delivered_per_s:>11,.0f} {s.p50_ms:>7.0f}"
            f" {s.p95_ms:>7.0f} {s.p99_ms:>7.0f} {s.max_ms:>8.0f} {s.subscribers_with_gaps:>5}"
            f" {s.missing:>9} {s.dropped:>7}  {'MET' if s.met else 'NOT MET'}"
        )
    print("\nCPU seconds while posting (API | this process: publisher and subscribers |")
    print("PostgreSQL backends of the bench database | the rest of the machine):")
    for s in report.steps:
        c = s.cpu
        print(
            f"  {s.protocol:<8} x{s.subscribers:<5} api {c.get('api_cpu_s', 0):.1f} s,"
            f" client {c.get('client_cpu_s', 0):.1f} s, postgres {c.get('postgres_cpu_s', 0):.1f}"
            f" s, other {c.get('other_cpu_s', 0):.1f} s over {c.get('wall_s', 0):.1f} s"
            f" ({c.get('machine_busy_pct', 0):.0f} % busy); API RSS {s.api_rss_mib:.0f} MiB;"
            f" settled {s.settle_s} s after posting; posts failed {s.positions_failed}"
            f" {s.why_failed or ''},"
            f" ticks skipped {s.skipped_ticks}; drops {s.drop_reasons or 'none'}"
        )
    print(
        f"\nTarget: {TARGET_SUBSCRIBERS:,} subscribers x {TARGET_RATE:,.0f} positions/s,"
        f" p99 < {TARGET_P99_MS:.0f} ms, no gaps."
    )
    for protocol, best in report.largest_passing.items():
        print(
            f"Largest load meeting it ({protocol}): "
            + (
                f"{best['subscribers']} subscribers, {best['msgs_per_s']:,.0f} messages/s out"
                if best
                else "none of the steps"
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, "SUBSCRIBER_QUEUE_SIZE=1024")
    parser.add_argument("--rate", type=float, default=10.0, help="positions/s per vehicle")
    parser.add_argument("--post-interval-ms", type=float, default=20.0, help="one batch each")
    parser.add_argument("--duration", type=float, default=10.0, help="posting s per step")
    parser.add_argument(
        "--ladder",
        type=lambda s: [int(x) for x in s.split(",")],
        default=[10, 50, 100, 250, 500, 1000],
        help="subscriber counts, one step each",
    )
    parser.add_argument(
        "--protocols",
        type=lambda s: s.split(","),
        default=["graphql", "graphql-batch", "ws", "ws-batch"],
        help="graphql (vehicleMoved over graphql-transport-ws), graphql-batch (fleetMoved: one"
        " list per frame), ws (/ws/tracking) and/or ws-batch (/ws/tracking?batch=true)",
    )
    parser.add_argument(
        "--compression",
        action="store_true",
        help="offer permessage-deflate as browsers do (off: cheaper for both ends)",
    )
    parser.add_argument(
        "--stop-on-failure", action="store_true", help="skip a protocol's larger steps"
    )
    parser.add_argument(
        "--latency-every",
        type=int,
        default=10,
        help="ws-batch, graphql-batch: one subscriber in N times every position (all count them)",
    )
    args = parser.parse_args()
    if args.rate <= 0 or args.duration <= 0 or args.post_interval_ms < 1:
        parser.error("--rate > 0, --duration > 0, --post-interval-ms >= 1")
    per_batch = args.rate * args.vehicles * args.post_interval_ms / 1000
    if per_batch > 1000:
        parser.error("more than 1,000 positions per batch: shorten --post-interval-ms")
    if not args.ladder or min(args.ladder) < 1 or max(args.ladder) > 5000:
        parser.error("--ladder: subscriber counts from 1 to 5000")
    if args.latency_every < 1:
        parser.error("--latency-every >= 1")
    if set(args.protocols) - {"graphql", "graphql-batch", "ws", "ws-batch"}:
        parser.error("--protocols from graphql,graphql-batch,ws,ws-batch")
    check_common_arguments(parser, args)
    report = asyncio.run(run(args))
    if args.json:
        print_json(report, "steps", lambda s: {"met": s.met, "load_msgs_per_s": s.load_msgs_per_s})
    else:
        print_report(report)


if __name__ == "__main__":
    run_main(main)
