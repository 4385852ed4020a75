"""Fan-out of broadcast channels to the subscribers connected to this process.

One broadcaster subscription per channel per process feeds a bounded queue per local
subscriber. A subscriber that falls `queue_size` messages behind (a slow or dead client) is
dropped, so that it never holds up the others. A published payload is JSON: one message,
or a list of messages sent together (one Redis round trip for a whole flush); it is
decoded once per process, and subscribers get the messages one by one, or (dashboards
that follow hundreds of vehicles) frames of what was published in the last moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, cast

import orjson
from broadcaster import Broadcast

from core import jsontext

log = logging.getLogger(__name__)


class SubscriberTooSlow(Exception):
    """The subscriber fell too far behind and was dropped."""


Message = dict[str, Any]


@dataclass(eq=False)
class Subscription:
    """Messages one by one; or, `batched`, frames: JSON array texts of the messages
    published within one frame interval, merged once per channel for all subscribers."""

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

    async def frames(self) -> AsyncIterator[str]:
        if not self.batched:
            raise TypeError("frames() is for batched subscriptions")
        while True:
            yield cast(str, await self._next())

    def offer(self, item: Message | str) -> bool:
        """Queue `item`; False (and dropped from now on) when the subscriber is full."""
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:
            self.dropped = True
            return False
        return True


def _merge(arrays: list[str]) -> str:
    """One JSON array of the elements of several (each the text of a JSON array)."""
    if len(arrays) == 1:
        return arrays[0]
    inner = [a[1:-1].strip() for a in arrays]
    return "[" + ",".join(i for i in inner if i) + "]"


class Hub:
    """`frame_interval_s`: how long batched subscribers' frames gather messages. The payloads
    published meanwhile are merged as text once per channel, and each batched subscriber
    gets one frame per interval at most: bounded work per subscriber however often the
    writer flushes, for at most that much more latency."""

    def __init__(
        self, broadcast: Broadcast, *, queue_size: int = 256, frame_interval_s: float = 0.05
    ) -> None:
        self._broadcast = broadcast
        self._queue_size = queue_size
        self._frame_interval_s = frame_interval_s
        self._local: dict[str, set[Subscription]] = {}
        self._pumps: dict[str, asyncio.Task[None]] = {}
        self._gathering: dict[str, list[str]] = {}

    async def publish(self, channel: str, messages: Message | list[Message]) -> None:
        await self._broadcast.publish(channel, jsontext.text(messages))

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
        loop = asyncio.get_running_loop()
        async with self._broadcast.subscribe(channel) as source:
            ready.set()
            while True:
                event = await source.get()
                payload = orjson.loads(event.message)
                if isinstance(payload, list):
                    messages, frame = payload, event.message
                else:
                    messages, frame = [payload], f"[{event.message}]"
                subscribers = list(self._local.get(channel, ()))
                for subscription in subscribers:
                    if subscription.batched:
                        continue
                    for message in messages:
                        if not subscription.offer(message):
                            self._drop(channel, subscription)
                            break
                if any(s.batched for s in subscribers):
                    gathering = self._gathering.setdefault(channel, [])
                    if not gathering:
                        loop.call_later(self._frame_interval_s, self._send_frame, channel)
                    gathering.append(frame)

    def _send_frame(self, channel: str) -> None:
        frame = _merge(self._gathering.pop(channel, []) or ["[]"])
        for subscription in list(self._local.get(channel, ())):
            if subscription.batched and not subscription.offer(frame):
                self._drop(channel, subscription)

    def _drop(self, channel: str, subscription: Subscription) -> None:
        self._local.get(channel, set()).discard(subscription)
        log.warning("dropped a slow subscriber", extra={"channel": channel})
