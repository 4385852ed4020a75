"""`python -m tasks.analytics_rebuild [--workspace ID ...]`: rebuild the analytics read models
from the stored events (`analytics_events`), every workspace by default.

Each workspace is rebuilt in one transaction that the `analytics` consumers wait for, so the
events process may keep running; readers see the old numbers until it commits. Then the read
models are vacuumed and analyzed: the rebuild rewrote every row, and until the dead versions
are gone every report wades through them (a role that does not own the tables gets
PostgreSQL's warning instead, and autovacuum does it later)."""

from __future__ import annotations

import argparse
import asyncio
import time
from uuid import UUID

import asyncpg

from core.db import Database, create_engine
from core.events import InMemoryBus
from core.logging import configure_logging
from core.settings import get_settings
from services.analytics.rebuild import READ_TABLES, rebuild_read_models


async def rebuild(workspaces: list[UUID]) -> None:
    settings = get_settings()
    db = Database(create_engine(settings), InMemoryBus())
    try:
        if not workspaces:
            rows = await db.lookup("SELECT analytics_workspace_ids() AS id")
            workspaces = [row["id"] for row in rows]
        for workspace_id in workspaces:
            started = time.perf_counter()
            replayed = await rebuild_read_models(db=db, workspace_id=workspace_id)
            elapsed = time.perf_counter() - started
            print(f"{workspace_id}: {replayed} events replayed in {elapsed:.2f} s", flush=True)
        started = time.perf_counter()
        conn = await asyncpg.connect(db.dsn)
        try:
            await conn.execute(f"VACUUM (ANALYZE) {', '.join(READ_TABLES)}, event_topic_counts")
        finally:
            await conn.close()
        print(f"read models vacuumed in {time.perf_counter() - started:.2f} s", flush=True)
    finally:
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspace", action="append", type=UUID, default=[], help="only these")
    args = parser.parse_args()
    configure_logging(get_settings().log_level)
    asyncio.run(rebuild(args.workspace))


if __name__ == "__main__":
    main()
