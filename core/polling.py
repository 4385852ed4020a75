"""Waiting for a state that another process writes (a job a worker finishes): read it
again and again, each pause a little longer, until it is final or the time is up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def poll(
    read: Callable[[], Awaitable[T]],
    final: Callable[[T], bool],
    *,
    timeout_s: float,
    first_pause_s: float,
    max_pause_s: float,
) -> T:
    """`read()`'s value once `final` says so, or the last one read when `timeout_s` runs
    out (read once more at the deadline, so a caller sees the latest state)."""
    deadline = time.monotonic() + timeout_s
    pause = first_pause_s
    while True:
        value = await read()
        if final(value) or time.monotonic() >= deadline:
            return value
        await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
        pause = min(pause * 1.5, max_pause_s)
