"""Helpers for the event backbone's tests: run the outbox relay, wait for stream entries."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import asyncpg

from core.db import Database
from core.outbox import OutboxRelay
from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest

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
    timeout_s: float = 60.0,
    interval_s: float = 0.05,
) -> T:
    """Poll `probe` until `accept` holds for its value; its last value either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if accept(value) or time.monotonic() > deadline:
            return value
        await asyncio.sleep(interval_s)


@contextlib.asynccontextmanager
async def events_process(
    database: DatabaseUnderTest, *args: str, env: dict[str, str] | None = None
) -> AsyncIterator[subprocess.Popen[bytes]]:
    """`python -m tasks.events` against this test's database, stopped when the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tasks.events", *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database.owner_url,
            "REDIS_URL": TEST_REDIS_URL,
            "ENVIRONMENT": "test",
            "CONSUMER_CLAIM_IDLE_MS": "500",
            "CONSUMER_BLOCK_MS": "100",
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
