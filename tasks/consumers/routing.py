"""`routing`: a failed quantum job's route falls back to a classical plan."""

from __future__ import annotations

from core.events import Event
from core.streams import GroupSpec
from services.routing.fallback import GROUP, TOPICS, fall_back_to_classical
from tasks.consumers import ConsumerContext


def group(ctx: ConsumerContext) -> GroupSpec:
    async def handle(events: list[Event]) -> None:
        await fall_back_to_classical(
            db=ctx.runtime.db, cache=ctx.runtime.cache, queue=ctx.queue, events=events
        )

    return GroupSpec(GROUP, TOPICS, handle)
