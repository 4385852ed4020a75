"""What every service benchmark needs: the project on the import path, the owner's URL for
a database of its own, that database rebuilt from the PostGIS template and migrated, a Redis
database of its own, a free loopback port, and process groups to stop."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import httpx  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.settings import get_settings  # noqa: E402

T = TypeVar("T")
POSTGIS_TEMPLATE = "omniroute_postgis_template"
HELSINKI = ROOT / "data" / "roads" / "helsinki.osm.pbf"
# Where the sample's streets are (its extract is a little larger than its road coverage).
HELSINKI_BOX = (24.9370, 60.1660, 24.9520, 60.1770)
# A benchmark drops and rebuilds its database: never one whose name says it is something else.
DROPPABLE_PREFIX = "omniroute_bench"


def owner_url(database: str) -> str:
    base = make_url(get_settings().database_url).set(drivername="postgresql")
    return base.set(database=database).render_as_string(hide_password=False)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def redis_db_url(db: int) -> str:
    """The configured Redis server's database number `db`."""
    return urlsplit(get_settings().redis_url)._replace(path=f"/{db}").geturl()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_droppable(database: str) -> None:
    if not database.startswith(DROPPABLE_PREFIX):
        raise SystemExit(f"--database must start with {DROPPABLE_PREFIX}: it is dropped each run")


async def migrate(database: str) -> None:
    migrated = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": owner_url(database)},
        capture_output=True,
        text=True,
        check=False,
    )
    if migrated.returncode != 0:
        raise SystemExit(f"alembic upgrade head failed:\n{migrated.stderr}")


async def recreate_from_template(database: str) -> None:
    """Drop and create `database` from the PostGIS template."""
    check_droppable(database)
    conn = await asyncpg.connect(owner_url("postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {quote_ident(database)} WITH (FORCE)")
        await conn.execute(
            f"CREATE DATABASE {quote_ident(database)} TEMPLATE {quote_ident(POSTGIS_TEMPLATE)}"
        )
    finally:
        await conn.close()


async def prepare_database(database: str) -> None:
    """Drop and recreate `database` from the PostGIS template, then migrate it."""
    await recreate_from_template(database)
    await migrate(database)


def percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[max(0, math.ceil(q * len(sorted_ms)) - 1)]


async def timed_calls(
    call: Callable[[int], Awaitable[T]], *, warmup: int, iterations: int
) -> tuple[list[float], list[T]]:
    """Sequential calls: warm-up first (pool, statement caches), then `iterations` timed.
    The timings in milliseconds, sorted, and what the timed calls returned."""
    for i in range(warmup):
        await call(i)
    timings, results = [], []
    for i in range(iterations):
        started = time.perf_counter()
        results.append(await call(warmup + i))
        timings.append((time.perf_counter() - started) * 1000)
    timings.sort()
    return timings, results


async def wait_ready(client: httpx.AsyncClient, server: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.returncode is not None:
            raise RuntimeError(f"uvicorn exited with {server.returncode}")
        try:
            if (await client.get("/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("the API was not ready within 60 s")


@contextlib.asynccontextmanager
async def served_api(database: str, redis_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """One uvicorn process of the app on a free loopback port, without rate limits, and a
    client for it once it is ready; its log is printed if the block fails."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": owner_url(database),
        "REDIS_URL": redis_url,
        "ENVIRONMENT": "development",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_USER_PER_MIN": "100000000",
        "RATE_LIMIT_WORKSPACE_PER_MIN": "100000000",
        "ACCESS_TOKEN_TTL_S": "3600",
    }
    env.pop("APP_DATABASE_URL", None)
    with tempfile.TemporaryFile() as server_log:
        server = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "uvicorn",
            "app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
            "--log-level",
            "warning",
            cwd=ROOT,
            env=env,
            stdout=server_log,
            stderr=subprocess.STDOUT,
        )
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False
            ) as client:
                await wait_ready(client, server)
                yield client
        except Exception:
            server_log.seek(0)
            sys.stderr.write(server_log.read().decode(errors="replace")[-4000:])
            raise
        finally:
            await stop(server)


async def stop(server: asyncio.subprocess.Process) -> None:
    """SIGTERM, then SIGKILL if it has not exited within 15 s."""
    if server.returncode is None:
        server.terminate()
        try:
            await asyncio.wait_for(server.wait(), 15)
        except TimeoutError:
            server.kill()
            await server.wait()


def signal_group(pid: int, sig: signal.Signals) -> None:
    """Signal the process group that `pid` leads (a child started in a session of its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)
