"""The worker's resources, created on the AsyncIO middleware's event loop.

Database pools belong to the event loop that opened them, so a worker always builds its
own. In single-process mode the worker runs on a thread of the API process: it shares the
API's in-memory cache, and reaches the API's subscribers by handing progress reports to
the API's event loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from uuid import UUID

from broadcaster import Broadcast

from core import jsontext
from core.broadcast import create_broadcast
from core.cache import Cache
from core.fanout import Message
from core.jobs import ProgressChannel
from core.runtime import Runtime
from core.settings import get_settings
from tasks.progress import BroadcastProgress


class ChannelPublisher:
    """The hub's `publish` for workers: messages on a broadcast channel, published on the
    API's loop in single-process mode (where its in-memory broadcast lives)."""

    def __init__(self, broadcast: Broadcast, loop: asyncio.AbstractEventLoop | None = None):
        self._broadcast = broadcast
        self._loop = loop

    async def publish(self, channel: str, messages: Message | list[Message]) -> None:
        send = self._broadcast.publish(channel, jsontext.text(messages))
        if self._loop is None:
            await send
        else:
            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send, self._loop))


@dataclass(slots=True)
class WorkerContext:
    runtime: Runtime
    progress: ProgressChannel
    channels: ChannelPublisher


@dataclass(frozen=True, slots=True)
class _Host:
    cache: Cache
    broadcast: Broadcast
    loop: asyncio.AbstractEventLoop


class _ToHostLoop:
    """Publishes on the API's loop, where its in-memory broadcast lives."""

    def __init__(self, host: _Host) -> None:
        self._target = BroadcastProgress(host.broadcast)
        self._loop = host.loop

    async def publish(self, job_id: UUID, message: dict[str, object]) -> None:
        future = asyncio.run_coroutine_threadsafe(self._target.publish(job_id, message), self._loop)
        await asyncio.wrap_future(future)


_host: _Host | None = None
_context: WorkerContext | None = None


def install(cache: Cache, broadcast: Broadcast, loop: asyncio.AbstractEventLoop) -> None:
    """Single-process mode: the API lends its cache and broadcast to the in-process worker."""
    global _host
    _host = _Host(cache, broadcast, loop)


async def context() -> WorkerContext:
    global _context
    if _context is None:
        settings = get_settings()
        runtime = Runtime.start(settings)
        if _host is not None:
            runtime.cache = _host.cache
            _context = WorkerContext(
                runtime, _ToHostLoop(_host), ChannelPublisher(_host.broadcast, _host.loop)
            )
        else:
            broadcast = create_broadcast(settings.redis_url)
            await broadcast.connect()
            _context = WorkerContext(
                runtime, BroadcastProgress(broadcast), ChannelPublisher(broadcast)
            )
    return _context


def current() -> WorkerContext | None:
    """The context if an actor has built it in this process, else None."""
    return _context
