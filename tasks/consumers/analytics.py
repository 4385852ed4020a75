"""`analytics`: every topic, into the analytics read models of each workspace."""

from __future__ import annotations

from core.events import Event
from core.streams import GroupSpec
from services.analytics.consumer import GROUP, apply_events
from tasks.consumers import ConsumerContext


def group(ctx: ConsumerContext) -> GroupSpec:
    async def handle(events: list[Event]) -> None:
        await apply_events(db=ctx.runtime.db, events=events)

    return GroupSpec(GROUP, None, handle)
