"""The `realtime` consumer: route changes and incident dispatches reach the workspace's live
channel (the one `/ws/tracking` and the GraphQL subscriptions listen to)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from core import jsontext
from core.events import Event
from services.tracking.feed import channel

GROUP = "realtime"
# Every change a map shows of a route: `routeChanged` announces them.
ROUTE_CHANGES = (
    "route.created",
    "route.updated",
    "route.optimized",
    "route.reoptimized",
    "route.deployed",
    "route.completed",
    "route.cancelled",
    "route.deleted",
)
TOPICS = (*ROUTE_CHANGES, "incident.dispatched")
# The live messages of ROUTE_CHANGES, by their type: `route_created` -> `created`.
ROUTE_CHANGE_TYPES = {t.replace(".", "_"): t.split(".", 1)[1] for t in ROUTE_CHANGES}
# How long an event id is remembered as forwarded: far longer than any redelivery takes.
SEEN_TTL_S = 7 * 24 * 3600
# A live screen wants news, not history: events older than this (a group created on streams
# that already hold months of events, an events process back from a long outage) are
# acknowledged without being shown; a screen reconnecting reads the current state anyway.
STALE_AFTER = timedelta(minutes=5)

Publish = Callable[[str, str], Awaitable[None]]


def live_message(event: Event) -> dict[str, object]:
    """`route.deployed` becomes `{"type": "route_deployed", ...}`, like the feed's messages."""
    return {
        "type": event.event_type.replace(".", "_"),
        "event_id": str(event.event_id),
        "timestamp": event.timestamp,
        "data": event.data,
    }


async def forward_to_live_channel(*, redis: Redis, publish: Publish, events: list[Event]) -> None:
    """Publish each event once on its workspace's channel; a redelivered or stale one is
    skipped."""
    oldest = datetime.now(UTC) - STALE_AFTER
    events = [event for event in events if event.timestamp >= oldest]
    if not events:
        return
    keys = [f"events:seen:{GROUP}:{event.event_id}" for event in events]
    pipe = redis.pipeline(transaction=False)
    for key in keys:
        pipe.set(key, 1, nx=True, ex=SEEN_TTL_S)
    first = await pipe.execute()
    for index, (event, is_first) in enumerate(zip(events, first, strict=True)):
        if not is_first:
            continue
        try:
            await publish(channel(event.workspace_id), jsontext.text(live_message(event)))
        except Exception:
            # Not shown: the redelivery of this batch must not find them marked as seen.
            unsent = [k for k, f in zip(keys[index:], first[index:], strict=True) if f]
            await redis.delete(*unsent)
            raise
