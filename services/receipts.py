"""Consumer receipts: which events a consumer group has applied, so that a second delivery
of one (the relay and the streams deliver at least once) changes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import Database
from core.events import Event

_CLAIM = text(
    """
    INSERT INTO consumer_receipts (consumer_group, event_id, workspace_id)
    SELECT :group_name, e, :workspace_id FROM unnest(CAST(:event_ids AS uuid[])) AS e
    ON CONFLICT DO NOTHING
    RETURNING event_id
    """
)


def by_workspace(events: Iterable[Event]) -> dict[UUID, list[Event]]:
    grouped: dict[UUID, list[Event]] = defaultdict(list)
    for event in events:
        grouped[event.workspace_id].append(event)
    return grouped


async def first_deliveries(
    *, session: AsyncSession, group: str, workspace_id: UUID, events: list[Event]
) -> list[Event]:
    """The events `group` has not applied before, now marked as applied in the caller's
    transaction (so the mark and the effect commit, or roll back, together)."""
    unique = list({event.event_id: event for event in events}.values())
    result = await session.execute(
        _CLAIM,
        {
            "group_name": group,
            "workspace_id": workspace_id,
            "event_ids": [event.event_id for event in unique],
        },
    )
    fresh = {row[0] for row in result}
    return [event for event in unique if event.event_id in fresh]


async def prune_receipts(*, db: Database, older_than_s: float, batch: int = 10_000) -> int:
    """Forget receipts older than `older_than_s` (every workspace, in batches); how many."""
    before = datetime.now(UTC) - timedelta(seconds=older_than_s)
    total = 0
    while True:
        rows = await db.lookup("SELECT consumer_receipts_prune($1, $2) AS n", before, batch)
        pruned = int(rows[0]["n"]) if rows else 0
        total += pruned
        if pruned < batch:
            return total
