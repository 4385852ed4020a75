"""Monthly partitions are created ahead, by the function and by a real Dramatiq worker."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import asyncpg

from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest


def _months_ahead(n: int) -> str:
    now = datetime.now(UTC)
    year, month = divmod(now.month - 1 + n, 12)
    return f"{now.year + year}{month + 1:02d}"


async def _partitions(conn: asyncpg.Connection, parent: str) -> set[str]:
    rows = await conn.fetch(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = $1::regclass",
        parent,
    )
    return {r["relname"] for r in rows}


async def test_migration_creates_current_and_next_months_and_a_default(
    owner_conn: asyncpg.Connection,
) -> None:
    for parent in ("live_vehicle_positions", "analytics_events"):
        expected = {f"{parent}_p{_months_ahead(i)}" for i in range(4)} | {f"{parent}_default"}
        assert await _partitions(owner_conn, parent) == expected


async def test_app_role_extends_partitions_idempotently(app_conn: asyncpg.Connection) -> None:
    created = await app_conn.fetch("SELECT ensure_monthly_partitions('analytics_events', 6)")
    assert [r[0] for r in created] == [f"analytics_events_p{_months_ahead(i)}" for i in (4, 5, 6)]
    again = await app_conn.fetch("SELECT ensure_monthly_partitions('analytics_events', 6)")
    assert again == []


async def test_a_row_lands_in_its_month(owner_conn: asyncpg.Connection) -> None:
    import uuid

    ws = uuid.uuid4()
    async with owner_conn.transaction():
        await owner_conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", str(ws))
        await owner_conn.execute(
            "INSERT INTO analytics_events (workspace_id, event_type, entity_type)"
            " VALUES ($1, 'route.created', 'route')",
            ws,
        )
        where = await owner_conn.fetchval("SELECT tableoid::regclass::text FROM analytics_events")
    assert where == f"analytics_events_p{_months_ahead(0)}"


async def partition_created_by_worker(
    owner_conn: asyncpg.Connection, missing: str, env: dict[str, str]
) -> None:
    """Send `ensure_partitions` from a process of its own (with `env`'s broker) and wait for
    a running worker to create the partition `missing`."""
    enqueue = "from tasks.maintenance import ensure_partitions; ensure_partitions.send()"
    subprocess.run([sys.executable, "-c", enqueue], cwd=ROOT, env=env, check=True)
    deadline = time.monotonic() + 60
    while missing not in await _partitions(owner_conn, "live_vehicle_positions"):
        assert time.monotonic() < deadline, "the worker did not create the partition"
        await asyncio.sleep(0.2)


async def test_worker_actor_creates_missing_partitions(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    missing = f"live_vehicle_positions_p{_months_ahead(3)}"
    await owner_conn.execute(f"DROP TABLE {missing}")
    env = {**os.environ, "DATABASE_URL": database.owner_url, "REDIS_URL": TEST_REDIS_URL}
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "tasks.worker",
            "--processes",
            "1",
            "--threads",
            "1",
            "--queues",
            "maintenance",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        await partition_created_by_worker(owner_conn, missing, env)
    finally:
        worker.terminate()
        worker.wait(timeout=15)
