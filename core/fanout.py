"""Fan-out of broadcast channels to the subscribers connected to this process.

One broadcaster subscription per channel per process feeds a bounded queue per local
subscriber. A subscriber that falls `queue_size` messages behind (a slow or dead client) is
dropped, so that it never holds up the others. A published payload is JSON: one message,
or a list of messages sent together (one Redis round trip for a whole flush); it is
decoded once per process, and subscribers get the messages one by one, or the whole
payload as one frame (dashboards that follow hundreds of vehicles).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from broadcaster import Broadcast

log = logging.getLogger(__name__)


class SubscriberTooSlow(Exception):
    """The subscriber fell too far behind and was dropped."""


Message = dict[str, Any]


@dataclass(eq=False)
class Subscription:
    """Messages one by one; or, `batched`, each published payload as one frame: the JSON
    array text exactly as published, encoded once for every subscriber of the process."""

    queue: asyncio.Queue[Message | str] = field(default_factory=lambda: asyncio.Queue(maxsize=256))
    batched: bool = False
    dropped: bool = False

    async def _next(self) -> Message | str:
        if self.dropped and self.queue.empty():
            raise SubscriberTooSlow("dropped: too far behind")
        return await self.queue.get()

    async def __aiter__(self) -> AsyncIterator[Message]:
        if self.batched:
            raise TypeError("a batched subscription yields frames()")
        while True:
            yield cast(Message, await self._next())

    async def frames(self, *, coalesce_s: float = 0.0) -> AsyncIterator[str]:
        """JSON arrays of messages. With `coalesce_s`, what was published within that
        time after a frame is merged into the next (without decoding it again): at most
        one frame per `coalesce_s` per subscriber, however often the writer flushes."""
        if not self.batched:
            raise TypeError("frames() is for batched subscriptions")
        loop = asyncio.get_running_loop()
        sent_at = -math.inf
        while True:
            first = cast(str, await self._next())
            wait = sent_at + coalesce_s - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            parts = [first]
            while not self.queue.empty():
                parts.append(cast(str, self.queue.get_nowait()))
            sent_at = loop.time()
            yield parts[0] if len(parts) == 1 else _merge(parts)


def _merge(arrays: list[str]) -> str:
    """One JSON array of the elements of several (each the text of a JSON array)."""
    inner = [a[1:-1].strip() for a in arrays]
    return "[" + ",".join(i for i in inner if i) + "]"


class Hub:
    def __init__(self, broadcast: Broadcast, *, queue_size: int = 256) -> None:
        self._broadcast = broadcast
        self._queue_size = queue_size
        self._local: dict[str, set[Subscription]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}

    async def publish(self, channel: str, messages: Message | list[Message]) -> None:
        await self._broadcast.publish(channel, orjson.dumps(messages, default=str).decode())

    @contextlib.asynccontextmanager
    async def subscribe(
        self, channel: str, *, batched: bool = False
    ) -> AsyncIterator[Subscription]:
        subscription = Subscription(asyncio.Queue(maxsize=self._queue_size), batched=batched)
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
                if isinstance(payload, list):
                    messages, frame = payload, event.message
                else:
                    messages, frame = [payload], f"[{event.message}]"
                for subscription in list(self._local.get(channel, ())):
                    items: list[Message] | list[str] = [frame] if subscription.batched else messages
                    for item in items:
                        try:
                            subscription.queue.put_nowait(item)
                        except asyncio.QueueFull:
                            subscription.dropped = True
                            self._local.get(channel, set()).discard(subscription)
                            log.warning("dropped a slow subscriber", extra={"channel": channel})
                            break
