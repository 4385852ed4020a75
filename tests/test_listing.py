"""Keyset pages in both directions: every row once, in order, whatever the page size."""

from __future__ import annotations

import uuid

import asyncpg

from core.db import Database, create_engine
from core.events import InMemoryBus
from core.pagination import CursorRequest, encode_cursor
from models import Location
from services.listing import paginate
from tests.conftest import DatabaseUnderTest


async def test_cursor_pages_oldest_and_newest_first(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    workspace, org = uuid.uuid4(), uuid.uuid4()
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true), set_config('app.current_organization_id', $2, true)",
            str(workspace),
            str(org),
        )
        await owner_conn.execute(
            "INSERT INTO organizations (id, name, slug) VALUES ($1, 'O', $2)",
            org,
            f"o-{org.hex[:6]}",
        )
        await owner_conn.execute(
            "INSERT INTO workspaces (id, organization_id, name, region) VALUES ($1, $2, 'W', 'eu-west')",
            workspace,
            org,
        )
        # Seven rows, two of them created at the same instant (the id breaks the tie).
        for n, minute in enumerate([1, 2, 3, 3, 4, 5, 6]):
            await owner_conn.execute(
                "INSERT INTO locations (workspace_id, name, geo, created_at) VALUES ($1, $2,"
                " 'SRID=4326;POINT(77.5 12.9)', '2026-01-01'::timestamptz + make_interval(mins => $3))",
                workspace,
                f"L{n}",
                minute,
            )
    engine = create_engine(database.settings)
    db = Database(engine, InMemoryBus())
    try:
        for newest_first in (False, True):
            seen: list[str] = []
            after = None
            while True:
                async with db.session(workspace) as session:
                    page = await paginate(
                        session, Location, [], CursorRequest(2, after), newest_first=newest_first
                    )
                seen += [row.name for row in page.items]
                assert page.total == 7
                if not page.has_next:
                    break
                last = page.items[-1]
                after = encode_cursor(last.created_at, last.id)  # type: ignore[arg-type]
            assert len(seen) == len(set(seen)) == 7
            names = ["L0", "L1", "L4", "L5", "L6"]
            ordered = [n for n in seen if n in names]
            assert ordered == (names[::-1] if newest_first else names)
    finally:
        await engine.dispose()
