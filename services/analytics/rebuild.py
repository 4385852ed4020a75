"""Rebuilding a workspace's analytics read models from its stored events (`analytics_events`):
the same fold as the consumer, over every event in time order, into emptied tables, in one
transaction (readers see the old numbers until it commits, then the new ones). The fleet's
per-day models are filled once at the end from the per-vehicle rows, as the consumer's fold
keeps them, instead of being rewritten for every batch."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from core.db import Database
from core.events import Event
from models.analytics_reads import READ_MODELS
from services.analytics import fleet_days
from services.analytics.consumer import GROUP, lock_read_models
from services.analytics.fold import fold
from services.analytics.topic_counts import add_topic_counts
from services.receipts import first_deliveries

BATCH = 5_000
READ_TABLES = tuple(str(model.__tablename__) for model in READ_MODELS)

# One scan and one sort of the workspace's events, read a batch at a time: pages by
# (created_at, id) would sort what is left of them again for every page.
_OPEN = text(
    """
    DECLARE analytics_replay NO SCROLL CURSOR FOR
    SELECT id, created_at, event_type, actor_id, payload FROM analytics_events
    ORDER BY created_at, id
    """
)
_CLOSE = text("CLOSE analytics_replay")


async def rebuild_read_models(*, db: Database, workspace_id: UUID, batch: int = BATCH) -> int:
    """Empty the workspace's read models and fold all its events again; how many events.

    Every replayed event also gets the consumer's receipt, so a consumer that delivers it
    afterwards (it was still on its way) does not count it twice."""
    replayed = 0
    async with db.session(workspace_id) as session:
        await lock_read_models(session, workspace_id)
        for table in (*READ_TABLES, "event_topic_counts"):
            await session.execute(text(f"DELETE FROM {table}"))  # noqa: S608 (constant names)
        await session.execute(_OPEN)
        fetch = text(f"FETCH FORWARD {int(batch)} FROM analytics_replay")
        while True:
            rows = (await session.execute(fetch)).all()
            if not rows:
                await session.execute(_CLOSE)
                await fleet_days.fill(session)
                return replayed
            events = [
                Event(
                    event_type=row.event_type,
                    workspace_id=workspace_id,
                    actor_id=row.actor_id,
                    data=row.payload or {},
                    event_id=row.id,
                    timestamp=row.created_at,
                )
                for row in rows
            ]
            await first_deliveries(
                session=session, group=GROUP, workspace_id=workspace_id, events=events
            )
            await add_topic_counts(session=session, workspace_id=workspace_id, events=events)
            await fold(session, events, fleet_days=False)
            replayed += len(events)
