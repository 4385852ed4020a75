"""The analytics consumer's first read model: how many events of each topic a workspace has
had, and when the newest was (the reports' `meta.as_of`)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.events import Event

_ADD = text(
    """
    INSERT INTO event_topic_counts (workspace_id, topic, event_count, last_event_at)
    SELECT :workspace_id, t, n, at
    FROM unnest(CAST(:topics AS text[]), CAST(:counts AS bigint[]),
                CAST(:latest AS timestamptz[])) AS u(t, n, at)
    ON CONFLICT (workspace_id, topic) DO UPDATE
    SET event_count = event_topic_counts.event_count + EXCLUDED.event_count,
        last_event_at = GREATEST(event_topic_counts.last_event_at, EXCLUDED.last_event_at)
    """
)


async def add_topic_counts(
    *, session: AsyncSession, workspace_id: UUID, events: list[Event]
) -> None:
    """Add each of `events` (applied once: the caller checked their receipts) to its
    workspace's count for its topic."""
    if not events:
        return
    counts = Counter(event.event_type for event in events)
    latest: dict[str, datetime] = {}
    for event in events:
        latest[event.event_type] = max(
            latest.get(event.event_type, event.timestamp), event.timestamp
        )
    topics = sorted(counts)
    await session.execute(
        _ADD,
        {
            "workspace_id": workspace_id,
            "topics": topics,
            "counts": [counts[t] for t in topics],
            "latest": [latest[t] for t in topics],
        },
    )
