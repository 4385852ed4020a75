"""The worker process's resources, created on the AsyncIO middleware's event loop.

In single-process mode the API installs its own runtime and broadcast here, so that jobs
run on the in-process worker share its database pool and reach its subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass

from broadcaster import Broadcast

from core.runtime import Runtime
from core.settings import MEMORY_URL, get_settings


@dataclass(slots=True)
class WorkerContext:
    runtime: Runtime
    broadcast: Broadcast
    connected: bool = False


_context: WorkerContext | None = None


def install(runtime: Runtime, broadcast: Broadcast) -> None:
    global _context
    _context = WorkerContext(runtime, broadcast, connected=True)


async def context() -> WorkerContext:
    global _context
    if _context is None:
        settings = get_settings()
        url = MEMORY_URL if settings.single_process else settings.redis_url
        _context = WorkerContext(Runtime.start(settings), Broadcast(url))
    if not _context.connected:
        await _context.broadcast.connect()
        _context.connected = True
    return _context
