"""Consumer receipts: which events a consumer group has applied, so that a second delivery
of one (the relay and the streams deliver at least once) changes nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

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
