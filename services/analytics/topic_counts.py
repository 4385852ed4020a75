"""The analytics consumer's read model: how many events of each topic a workspace has had."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

from sqlalchemy import text

from core.db import Database
from core.events import Event
from services.receipts import by_workspace, first_deliveries

GROUP = "analytics"

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


async def count_events(*, db: Database, events: list[Event]) -> None:
    """Add each event, once, to its workspace's count for its topic."""
    for workspace_id, group in by_workspace(events).items():
        async with db.session(workspace_id) as session:
            fresh = await first_deliveries(
                session=session, group=GROUP, workspace_id=workspace_id, events=group
            )
            if not fresh:
                continue
            counts = Counter(event.event_type for event in fresh)
            latest: dict[str, datetime] = {}
            for event in fresh:
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
