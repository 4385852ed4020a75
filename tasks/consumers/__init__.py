"""The consumer groups of spec section 15's table, one module each: its group, its topics,
and the service its handler calls."""

from __future__ import annotations

from dataclasses import dataclass

from broadcaster import Broadcast
from redis.asyncio import Redis

from core.jobs import JobQueue
from core.runtime import Runtime
from services.notifications.delivery import WebhookSender


@dataclass(frozen=True, slots=True)
class ConsumerContext:
    """What the handlers of one events process share."""

    runtime: Runtime
    redis: Redis
    broadcast: Broadcast
    queue: JobQueue
    sender: WebhookSender
