"""Helpers for the event backbone's tests: run the outbox relay, wait for stream entries."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg

from core.db import Database
from core.outbox import OutboxRelay

T = TypeVar("T")


async def relay_all(db: Database) -> int:
    """Publish everything committed so far, as the relay would; the number published."""
    relay = OutboxRelay(db.dsn, db.bus)
    conn = await asyncpg.connect(db.dsn)
    try:
        total = 0
        while published := await relay.relay_once(conn):
            total += published
        return total
    finally:
        await conn.close()


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout_s: float = 20.0,
    interval_s: float = 0.05,
) -> T:
    """Poll `probe` until `accept` holds for its value; its last value either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if accept(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval_s)
