"""Fan-out of broadcast channels to the subscribers connected to this process.

One broadcaster subscription per channel per process feeds a bounded queue per local
subscriber. A subscriber that falls `queue_size` messages behind (a slow or dead client) is
dropped, so that it never holds up the others. A published payload is JSON: one message,
or a list of messages sent together (one Redis round trip for a whole flush); it is
decoded once per process, and subscribers get the messages one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from broadcaster import Broadcast

log = logging.getLogger(__name__)


class SubscriberTooSlow(Exception):
    """The subscriber fell too far behind and was dropped."""


Message = dict[str, Any]


@dataclass(eq=False)
class Subscription:
    queue: asyncio.Queue[Message] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    dropped: bool = False

    async def __aiter__(self) -> AsyncIterator[Message]:
        while True:
            if self.dropped and self.queue.empty():
                raise SubscriberTooSlow("dropped: too far behind")
            yield await self.queue.get()


class Hub:
    def __init__(self, broadcast: Broadcast, *, queue_size: int = 256) -> None:
        self._broadcast = broadcast
        self._queue_size = queue_size
        self._local: dict[str, set[Subscription]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}

    async def publish(self, channel: str, messages: Message | list[Message]) -> None:
        await self._broadcast.publish(channel, orjson.dumps(messages, default=str).decode())

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        subscription = Subscription(asyncio.Queue(maxsize=self._queue_size))
        local = self._local.setdefault(channel, set())
        local.add(subscription)
        if channel not in self._pumps:
            ready = asyncio.Event()
            pump = asyncio.create_task(self._pump(channel, ready))
            self._pumps[channel] = pump
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait({pump, waiter}, return_when=asyncio.FIRST_COMPLETED)
            if pump.done():  # the backend refused the subscription
                waiter.cancel()
                self._pumps.pop(channel, None)
                local.discard(subscription)
                pump.result()
        try:
            yield subscription
        finally:
            local.discard(subscription)
            if not local:
                self._local.pop(channel, None)
                running = self._pumps.pop(channel, None)
                if running is not None:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running

    async def _pump(self, channel: str, ready: asyncio.Event) -> None:
        async with self._broadcast.subscribe(channel) as source:
            ready.set()
            while True:
                event = await source.get()
                payload = orjson.loads(event.message)
                messages = payload if isinstance(payload, list) else [payload]
                for subscription in list(self._local.get(channel, ())):
                    for message in messages:
                        try:
                            subscription.queue.put_nowait(message)
                        except asyncio.QueueFull:
                            subscription.dropped = True
                            self._local.get(channel, set()).discard(subscription)
                            log.warning("dropped a slow subscriber", extra={"channel": channel})
                            break
