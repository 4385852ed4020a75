"""Liveness, readiness and startup probes (spec section 21)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from alembic.script import ScriptDirectory
from redis.asyncio import Redis
from sqlalchemy import text

from core.db import Database
from core.redis import create_redis

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
PROBE_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Probe:
    name: str
    ok: bool
    detail: str
    # A failing non-critical probe is reported but does not make the service unavailable.
    critical: bool = True


@cache
def code_head_revision() -> str | None:
    return ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()


async def _timed(name: str, check: asyncio.Future[str]) -> Probe:
    try:
        # Shielded: the same check may answer for two probes (Redis and a broker on it).
        detail = await asyncio.wait_for(asyncio.shield(check), PROBE_TIMEOUT_S)
        return Probe(name, True, detail)
    except TimeoutError:
        return Probe(name, False, f"no answer within {PROBE_TIMEOUT_S:g}s")
    except Exception as exc:
        return Probe(name, False, type(exc).__name__)


async def _database(db: Database) -> str:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return "ok"


async def _redis(redis: Redis) -> str:
    await redis.execute_command("PING")
    return "ok"


async def _tcp(url: str) -> str:
    parts = urlsplit(url)
    _, writer = await asyncio.open_connection(parts.hostname, parts.port or 5672)
    writer.close()
    await writer.wait_closed()
    return "ok"


async def readiness(
    *, db: Database, redis: Redis | None, broker_url: str | None, redis_url: str | None = None
) -> list[Probe]:
    """Database, Redis and the job broker; in single-process mode the last two are local.
    A broker on the same Redis is probed through the same client."""
    redis_check = asyncio.ensure_future(_redis(redis)) if redis else None
    checks: list[tuple[str, asyncio.Future[str] | None]] = [
        ("database", asyncio.ensure_future(_database(db))),
        ("redis", redis_check),
    ]
    broker: Redis | None = None
    if broker_url is None:
        checks.append(("broker", None))
    elif broker_url == redis_url and redis_check is not None:
        checks.append(("broker", redis_check))
    elif broker_url.startswith("redis"):
        broker = create_redis(broker_url)
        checks.append(("broker", asyncio.ensure_future(_redis(broker))))
    else:
        checks.append(("broker", asyncio.ensure_future(_tcp(broker_url))))
    try:
        return [
            await _timed(name, task)
            if task
            else Probe(name, True, "in-process (single-process mode)")
            for name, task in checks
        ]
    finally:
        if broker is not None:
            await broker.aclose()


async def startup(*, db: Database) -> list[Probe]:
    """Migrations applied up to the code's head; settings were validated when loaded."""
    head = code_head_revision()
    try:
        async with db.engine.connect() as conn:
            applied = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception as exc:
        return [Probe("migrations", False, f"cannot read alembic_version ({type(exc).__name__})")]
    ok = applied == head
    detail = f"at head {head}" if ok else f"database at {applied}, code at {head}"
    return [Probe("migrations", ok, detail), Probe("settings", True, "valid")]


async def default_partitions(*, db: Database) -> Probe:
    """Rows in a default partition mean the monthly partitions fell behind the data."""
    try:
        async with db.engine.connect() as conn:
            rows = (await conn.execute(text("SELECT * FROM default_partition_rows()"))).all()
    except Exception as exc:
        return Probe("default_partitions", False, type(exc).__name__, critical=False)
    filled = {parent: count for parent, count in rows if count}
    if not filled:
        return Probe("default_partitions", True, "empty", critical=False)
    detail = ", ".join(f"{parent}: {count} rows" for parent, count in filled.items())
    return Probe("default_partitions", False, detail, critical=False)
