"""`analytics`: every topic, into the per-topic counts of each workspace."""

from __future__ import annotations

from core.events import Event
from core.streams import GroupSpec
from services.analytics.topic_counts import GROUP, count_events
from tasks.consumers import ConsumerContext


def group(ctx: ConsumerContext) -> GroupSpec:
    async def handle(events: list[Event]) -> None:
        await count_events(db=ctx.runtime.db, events=events)

    return GroupSpec(GROUP, None, handle)
