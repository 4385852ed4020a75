"""`notification`: every topic, into deliveries for the webhooks subscribed to it."""

from __future__ import annotations

from core.events import Event
from core.streams import GroupSpec
from services.notifications.webhooks import GROUP, enqueue_deliveries
from tasks.consumers import ConsumerContext


def group(ctx: ConsumerContext) -> GroupSpec:
    async def handle(events: list[Event]) -> None:
        if await enqueue_deliveries(db=ctx.runtime.db, events=events):
            ctx.sender.wake()

    return GroupSpec(GROUP, None, handle)
