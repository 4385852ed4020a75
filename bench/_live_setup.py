"""Shared set-up of the live-tracking benchmarks (bench/ingest.py, bench/fanout.py).

An own database cloned from the PostGIS template and migrated on every run, an own Redis
database flushed at start, `python app.py` on free loopback ports (one or more processes,
each in a session of its own so that every exit path stops it), one registered admin with a
fleet of vehicles, and the CPU accounting that says who used the machine's cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import json
import os
import pstats
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import psutil
from _common import (
    ROOT,
    check_droppable,
    free_port,
    owner_url,
    signal_group,
)
from redis.asyncio import Redis
from sqlalchemy.engine import make_url

from core.settings import get_settings

DEFAULT_DATABASE = "omniroute_bench_live"
DEFAULT_REDIS_DB = 13
PASSWORD = "bench live tracking staple horse"
READY_TIMEOUT_S = 90.0
STOP_GRACE_S = 15.0
# Bengaluru (lng, lat).
CENTRE = (77.5946, 12.9716)


def log(tag: str, message: str) -> None:
    print(f"[{tag}] {message}", file=sys.stderr, flush=True)


def app_url(database: str) -> str:
    """The application role's URL for `database`, as the API connects (RLS applies)."""
    settings = get_settings()
    dsn = settings.app_dsn.replace("postgresql+asyncpg://", "postgresql://", 1)
    return make_url(dsn).set(database=database).render_as_string(hide_password=False)


def check_environment(database: str) -> None:
    check_droppable(database)
    if get_settings().redis_url.startswith("memory"):
        raise SystemExit("needs Redis: set REDIS_URL (or run scripts/provision.sh)")


async def flush_redis(url: str) -> None:
    """Empty the bench's own Redis database (FLUSHDB: that database only)."""
    client = Redis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# --- the command line -----------------------------------------------------------------------


def add_common_arguments(parser: argparse.ArgumentParser, api_env_example: str) -> None:
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--redis-db", type=int, default=DEFAULT_REDIS_DB)
    parser.add_argument("--vehicles", type=int, default=100)
    parser.add_argument(
        "--api-env",
        action="append",
        type=lambda s: tuple(s.split("=", 1)),
        default=[],
        metavar="NAME=VALUE",
        help=f"extra environment of the API, e.g. {api_env_example} (repeatable)",
    )
    parser.add_argument(
        "--profile-api",
        action="store_true",
        help="run the API under cProfile and print where its CPU went (slows it down)",
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def check_common_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.vehicles < 1 or not 0 <= args.redis_db <= 15:
        parser.error("--vehicles >= 1, --redis-db in 0..15")
    if any(len(pair) != 2 for pair in args.api_env):
        parser.error("--api-env takes NAME=VALUE")
    check_environment(args.database)


def print_json(report: Any, key: str, extra: Callable[[Any], dict[str, Any]]) -> None:
    """The report as JSON, each row of `report.<key>` with its computed verdicts added."""
    out = dataclasses.asdict(report)
    for item, row in zip(getattr(report, key), out[key], strict=True):
        row.update(extra(item))
    print(json.dumps(out, indent=2, default=str))


def run_main(main: Callable[[], None]) -> None:
    """Run `main` so that SIGTERM and Ctrl-C unwind through every `finally` that stops a
    child process."""
    exit_on_sigterm()
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)


# --- the API processes ----------------------------------------------------------------------


def exit_on_sigterm() -> None:
    """SIGTERM unwinds like Ctrl-C does, through every `finally` that stops a child."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


# `python app.py` under cProfile, its statistics written when uvicorn has shut down.
PROFILED_APP = """
import cProfile, signal, sys
out = sys.argv[1]
# uvicorn re-raises SIGTERM once it has shut down: exit through `finally` instead of dying.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
sys.argv = ["app.py"]
import app
profile = cProfile.Profile()
profile.enable()
try:
    app.main()
finally:
    profile.disable()
    profile.dump_stats(out)
"""


def profile_summary(paths: Sequence[Path], top: int = 25) -> str:
    """The functions that took the API's CPU (own time), then the project's (cumulative)."""
    existing = [str(p) for p in paths if p.exists()]
    if not existing:
        return "(no profile was written)"
    out = io.StringIO()
    stats = pstats.Stats(*existing, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(rf"{ROOT}/(core|services|rest|resolvers)", top)
    return out.getvalue()


class ApiServers:
    """`python app.py` processes on free loopback ports, stopped on any exit path."""

    def __init__(
        self, database: str, redis_url: str, env: dict[str, str] | None = None, *, profile: bool
    ) -> None:
        self.database = database
        self.redis_url = redis_url
        self.extra_env = env or {}
        self.profile_dir = Path(tempfile.mkdtemp(prefix="live-bench-prof-")) if profile else None
        self.profiles: list[Path] = []
        self.procs: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        self.logs: list[IO[bytes]] = []

    def start(self, count: int) -> list[str]:
        for _ in range(count):
            port = free_port()
            env = {
                **os.environ,
                "DATABASE_URL": owner_url(self.database),
                "REDIS_URL": self.redis_url,
                "ENVIRONMENT": "development",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "LOG_LEVEL": "WARNING",
                "RATE_LIMIT_USER_PER_MIN": "1000000000",
                "RATE_LIMIT_WORKSPACE_PER_MIN": "1000000000",
                "ACCESS_TOKEN_TTL_S": "86400",
                **self.extra_env,
            }
            for inherited in ("APP_DATABASE_URL", "BROKER_URL"):
                env.pop(inherited, None)
            log_file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
            self.logs.append(log_file)
            command = [sys.executable, "app.py"]
            if self.profile_dir is not None:
                self.profiles.append(self.profile_dir / f"api-{port}.prof")
                command = [sys.executable, "-c", PROFILED_APP, str(self.profiles[-1])]
            self.procs.append(
                subprocess.Popen(
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log_file,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
            self.ports.append(port)
        return self.urls

    @property
    def urls(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.ports]

    def check(self) -> None:
        for proc in self.procs:
            if proc.poll() is not None:
                raise RuntimeError(f"the API (pid {proc.pid}) exited with {proc.returncode}")

    async def wait_ready(self) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        async with httpx.AsyncClient(timeout=5, trust_env=False) as client:
            for url in self.urls:
                while True:
                    self.check()
                    try:
                        if (await client.get(f"{url}/health/ready")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"the API was not ready within {READY_TIMEOUT_S:.0f} s")
                    await asyncio.sleep(0.2)

    def cpu_s(self) -> float:
        return sum(process_cpu_s(proc.pid) for proc in self.procs if proc.poll() is None)

    def rss_mib(self) -> float:
        total = 0.0
        for proc in self.procs:
            with contextlib.suppress(psutil.Error):
                total += psutil.Process(proc.pid).memory_info().rss / 2**20
        return total

    def tail(self, chars: int = 3000) -> str:
        out = []
        for proc, log_file in zip(self.procs, self.logs, strict=True):
            log_file.seek(0)
            out.append(f"--- API pid {proc.pid} ---\n{log_file.read().decode(errors='replace')}")
        return "\n".join(out)[-chars:]

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                signal_group(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                signal_group(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        for log_file in self.logs:
            log_file.close()
        self.procs.clear()
        self.logs.clear()
        if self.profile_dir is not None:
            sys.stderr.write(profile_summary(self.profiles) + "\n")
            shutil.rmtree(self.profile_dir, ignore_errors=True)
            self.profile_dir = None


# --- a lean HTTP/1.1 client -----------------------------------------------------------------


class RawHttp:
    """One keep-alive HTTP/1.1 connection on asyncio streams, for the load itself.

    httpx costs the load generator a core at about 1,300 requests/s here, and one
    AsyncClient with 64 pooled connections fell to about 100 requests/s (encode/httpx#3215),
    so the client would measure itself; this one costs a few percent of that."""

    def __init__(self, url: str, token: str, timeout_s: float = 30.0) -> None:
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._head = (
            f"Host: {self._host}:{self._port}\r\nAuthorization: Bearer {token}\r\n"
            "Content-Type: application/json\r\n"
        ).encode()
        self._timeout_s = timeout_s
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        try:
            return await asyncio.wait_for(self._post(path, body), self._timeout_s)
        except BaseException:
            await self.close()  # a half-read response must not poison the next request
            raise

    async def _post(self, path: str, body: bytes) -> tuple[int, bytes]:
        reused = self._writer is not None
        request = b"POST %s HTTP/1.1\r\n%sContent-Length: %d\r\n\r\n%s" % (
            path.encode(),
            self._head,
            len(body),
            body,
        )
        try:
            head = await self._send(request)
        except (ConnectionError, asyncio.IncompleteReadError):
            if not reused:
                raise
            # The server closed the idle keep-alive connection (uvicorn: after 5 s) before
            # reading this request: send it again on a new one, as browsers do.
            await self.close()
            head = await self._send(request)
        assert self._reader is not None
        lines = head.split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, close = 0, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self._reader.readexactly(length)
        if close:
            await self.close()
        return status, payload

    async def _send(self, request: bytes) -> bytes:
        """Write the request and read the response's head, opening a connection if none."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        assert self._reader is not None
        self._writer.write(request)
        await self._writer.drain()
        return await self._reader.readuntil(b"\r\n\r\n")

    async def close(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


# --- the fleet ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Fleet:
    token: str
    workspace_id: str
    vehicle_ids: list[str]

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def create_fleet(base_url: str, vehicles: int, tag: str) -> Fleet:
    """Register an admin with a workspace of its own and create `vehicles` vans."""
    async with httpx.AsyncClient(base_url=base_url, timeout=30, trust_env=False) as client:
        registered = await client.post(
            "/api/v1/auth/register",
            json={
                "email": f"bench-{tag}-{uuid.uuid4().hex[:10]}@example.com",
                "password": PASSWORD,
                "full_name": "Bench Dispatcher",
                "organization_name": f"Bench {tag}",
                "workspace_name": "Bengaluru live",
            },
        )
        if registered.status_code != 201:
            raise RuntimeError(f"register: {registered.status_code} {registered.text}")
        data = registered.json()["data"]
        token = str(data["access_token"])
        headers = {"Authorization": f"Bearer {token}"}
        ids: list[str] = []
        for n in range(vehicles):
            created = await client.post(
                "/api/v1/vehicles",
                json={"vehicle_type": "van", "plate_number": f"KA01LV{n:04d}", "capacity_kg": 900},
                headers=headers,
            )
            if created.status_code != 201:
                raise RuntimeError(f"vehicle: {created.status_code} {created.text}")
            ids.append(str(created.json()["data"]["id"]))
    return Fleet(token, str(data["workspace"]["id"]), ids)


# --- figures --------------------------------------------------------------------------------


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of an ascending sequence (0.0 when empty)."""
    if not sorted_values:
        return 0.0
    rank = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return float(sorted_values[rank])


def process_cpu_s(pid: int) -> float:
    with contextlib.suppress(psutil.Error):
        times = psutil.Process(pid).cpu_times()
        return float(times.user + times.system)
    return 0.0


@dataclass(slots=True)
class CpuWindow:
    """CPU seconds spent during a window: by the API, by this load generator, by the
    PostgreSQL backends serving the bench database, and by the whole machine (Redis and
    anything else running here included)."""

    wall_s: float = 0.0
    api_s: float = 0.0
    client_s: float = 0.0
    postgres_s: float = 0.0
    machine_busy_s: float = 0.0
    cores: int = 0
    pg_sessions_opened: int = 0
    pg_commits: int = 0

    def as_dict(self) -> dict[str, float]:
        cap = max(self.wall_s * self.cores, 1e-9)
        ours = self.api_s + self.client_s + self.postgres_s
        return {
            "wall_s": round(self.wall_s, 2),
            "api_cpu_s": round(self.api_s, 2),
            "client_cpu_s": round(self.client_s, 2),
            "postgres_cpu_s": round(self.postgres_s, 2),
            "machine_busy_cpu_s": round(self.machine_busy_s, 2),
            "other_cpu_s": round(max(0.0, self.machine_busy_s - ours), 2),
            "machine_busy_pct": round(100 * self.machine_busy_s / cap, 1),
            "pg_sessions_opened": self.pg_sessions_opened,
            "pg_commits": self.pg_commits,
        }


class CpuMeter:
    def __init__(self, servers: ApiServers) -> None:
        self._servers = servers
        self._start: tuple[float, float, float, float] | None = None
        self._backends: dict[int, float] = {}
        self._counters = (0, 0)

    async def _backends_now(self) -> tuple[list[int], tuple[int, int]]:
        """Backend pids of the bench database, and its (sessions opened, commits) so far."""
        conn = await asyncpg.connect(owner_url(self._servers.database))
        try:
            rows = await conn.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
                self._servers.database,
            )
            stats = await conn.fetchrow(
                "SELECT sessions, xact_commit FROM pg_stat_database WHERE datname = $1",
                self._servers.database,
            )
        finally:
            await conn.close()
        counters = (int(stats["sessions"]), int(stats["xact_commit"])) if stats else (0, 0)
        return [int(r["pid"]) for r in rows], counters

    def _now(self) -> tuple[float, float, float, float]:
        machine = psutil.cpu_times()
        busy = machine.user + machine.system + machine.nice + getattr(machine, "softirq", 0.0)
        busy += getattr(machine, "irq", 0.0) + getattr(machine, "steal", 0.0)
        return (time.monotonic(), self._servers.cpu_s(), process_cpu_s(os.getpid()), busy)

    async def start(self) -> None:
        # The API's pooled connections outlive a window; new ones count from zero.
        pids, self._counters = await self._backends_now()
        self._backends = {pid: process_cpu_s(pid) for pid in pids}
        self._start = self._now()

    async def stop(self) -> CpuWindow:
        assert self._start is not None
        end = self._now()
        pids, counters = await self._backends_now()
        # Backends that ended within the window are missing here (their CPU shows as other).
        postgres = sum(process_cpu_s(pid) - self._backends.get(pid, 0.0) for pid in pids)
        wall, api, client, busy = (b - a for a, b in zip(self._start, end, strict=True))
        return CpuWindow(
            wall,
            api,
            client,
            max(0.0, postgres),
            busy,
            psutil.cpu_count() or 1,
            # Less the bench's own two look-ups.
            counters[0] - self._counters[0] - 1,
            counters[1] - self._counters[1] - 1,
        )


def machine_note() -> dict[str, Any]:
    load1, load5, _ = os.getloadavg()
    return {
        "cores": psutil.cpu_count() or 1,
        "load_avg_1m_at_start": round(load1, 2),
        "load_avg_5m_at_start": round(load5, 2),
        "note": (
            "one machine: the API process(es), PostgreSQL, Redis and this load generator share"
            " its cores, as does any other work running on it"
        ),
    }
