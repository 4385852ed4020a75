"""`realtime`: route changes and incident dispatches onto the workspace's live channel."""

from __future__ import annotations

from core.events import Event
from core.streams import GroupSpec
from services.notifications.live import GROUP, TOPICS, forward_to_live_channel
from tasks.consumers import ConsumerContext


def group(ctx: ConsumerContext) -> GroupSpec:
    async def handle(events: list[Event]) -> None:
        await forward_to_live_channel(redis=ctx.redis, publish=ctx.broadcast.publish, events=events)

    return GroupSpec(GROUP, TOPICS, handle)
