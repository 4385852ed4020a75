"""The tenant setting is scoped to each transaction, so that connections shared between
requests (the app's pool, and PgBouncer's server connections in transaction mode, where
`make test` runs this file again) never carry one workspace's scope into another's
transaction."""

from __future__ import annotations

import asyncio
import random
import uuid

import httpx
from sqlalchemy import text
from starlette.applications import Starlette

from core.settings import get_settings
from tests.helpers import register
from tests.routing_helpers import make_vehicle


async def test_each_transaction_sees_its_own_workspace_only(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    tenants = [await register(client) for _ in range(2)]
    owned = {
        t.workspace_id: await make_vehicle(client, t, f"PT-{i}") for i, t in enumerate(tenants)
    }
    db = app.state.db
    seen: list[tuple[str | None, str, list[str]]] = []

    async def one(workspace: str | None) -> None:
        async with db.session(uuid.UUID(workspace) if workspace else None) as session:
            scope = (
                await session.execute(
                    text("SELECT current_setting('app.current_workspace_id', true)")
                )
            ).scalar_one()
            await asyncio.sleep(random.random() / 100)
            vehicles = [
                str(v) for v in (await session.execute(text("SELECT id FROM vehicles"))).scalars()
            ]
            seen.append((workspace, scope, vehicles))

    choices = [t.workspace_id for t in tenants] + [None]
    await asyncio.gather(*(one(random.choice(choices)) for _ in range(150)))
    for workspace, scope, vehicles in seen:
        assert scope == (workspace or "")
        assert vehicles == ([owned[workspace]] if workspace else [])

    # Outside any session's transaction the setting is gone from whatever connection
    # serves the next statement.
    async with db.engine.connect() as conn:
        leftover = (
            await conn.execute(text("SELECT current_setting('app.current_workspace_id', true)"))
        ).scalar_one()
    assert leftover in (None, "")
    if get_settings().db_transaction_pooling:
        assert str(get_settings().db_app_port) in str(db.engine.url)
