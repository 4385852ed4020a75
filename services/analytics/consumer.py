"""The `analytics` consumer group's handler: each event, once, into the read models."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import Database
from core.events import Event
from services.analytics.fold import fold
from services.analytics.topic_counts import add_topic_counts
from services.receipts import by_workspace, first_deliveries

GROUP = "analytics"

# One folder of a workspace's read models at a time: consumers of the group and the
# rebuild command serialize on it, so that none folds against a half-rebuilt table.
_LOCK = text("SELECT pg_advisory_xact_lock(hashtextextended('analytics:' || :ws, 0))")


async def lock_read_models(session: AsyncSession, workspace_id: UUID) -> None:
    await session.execute(_LOCK, {"ws": str(workspace_id)})


async def apply_events(*, db: Database, events: list[Event]) -> None:
    """Fold each workspace's new events into its read models, in one transaction with the
    receipts that make a second delivery change nothing."""
    for workspace_id, group in by_workspace(events).items():
        async with db.session(workspace_id) as session:
            await lock_read_models(session, workspace_id)
            fresh = await first_deliveries(
                session=session, group=GROUP, workspace_id=workspace_id, events=group
            )
            if not fresh:
                continue
            await add_topic_counts(session=session, workspace_id=workspace_id, events=fresh)
            await fold(session, fresh)
