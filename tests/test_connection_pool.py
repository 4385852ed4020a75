"""The hot reads' connection pool on a real PostgreSQL: a connection is reused only when it
is ready for the next statement, and a queue of callers is served in turn."""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import pytest

from core.connection_pool import ConnectionPool, PoolTimeout
from core.outages import as_unavailable
from tests.conftest import DatabaseUnderTest


async def backend(pool: ConnectionPool) -> int:
    async with pool.acquire() as conn:
        pid: int = await conn.fetchval("SELECT pg_backend_pid()")
        return pid


async def test_a_refused_statement_keeps_its_connection(database: DatabaseUnderTest) -> None:
    pool = ConnectionPool(database.owner_dsn, max_size=2)
    try:
        first = await backend(pool)
        with pytest.raises(asyncpg.DivisionByZeroError):
            await pool.fetch("SELECT 1 / 0")
        assert await backend(pool) == first
        # A refusal raised by the caller's own code, outside any transaction: reused too.
        with pytest.raises(LookupError):
            async with pool.acquire():
                raise LookupError
        assert await backend(pool) == first
    finally:
        await pool.close()


async def test_a_statement_cancelled_midway_is_never_reused(database: DatabaseUnderTest) -> None:
    pool = ConnectionPool(database.owner_dsn, max_size=1)
    try:
        first = await backend(pool)
        slow = asyncio.create_task(pool.fetch("SELECT pg_sleep(5)"))
        await asyncio.sleep(0.3)
        slow.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await slow
        # The next caller gets a connection that answers, not the one still busy.
        assert await pool.fetch("SELECT 42 AS answer") == [(42,)]
        assert await backend(pool) != first
    finally:
        await pool.close()


async def test_a_transaction_left_open_closes_its_connection(
    database: DatabaseUnderTest,
) -> None:
    pool = ConnectionPool(database.owner_dsn, max_size=1)
    try:
        async with pool.acquire() as conn:
            first = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.execute("BEGIN; CREATE TEMP TABLE left_open (x int)")
        async with pool.acquire() as conn:
            assert not conn.is_in_transaction()
            assert await conn.fetchval("SELECT pg_backend_pid()") != first
            assert await conn.fetchval("SELECT to_regclass('pg_temp.left_open')") is None
    finally:
        await pool.close()


async def test_callers_beyond_its_size_wait_their_turn(database: DatabaseUnderTest) -> None:
    pool = ConnectionPool(database.owner_dsn, max_size=2)
    try:
        backends = await asyncio.gather(*(backend(pool) for _ in range(20)))
        assert len(set(backends)) <= 2
        # A caller cancelled while it waits gives its turn to the next.
        async with pool.acquire(), pool.acquire():
            waiting = asyncio.create_task(backend(pool))
            behind = asyncio.create_task(backend(pool))
            await asyncio.sleep(0.05)
            waiting.cancel()
        assert await asyncio.wait_for(behind, 5) in backends
        with contextlib.suppress(asyncio.CancelledError):
            await waiting
    finally:
        await pool.close()
    with pytest.raises(asyncpg.InterfaceError):
        await backend(pool)


async def test_a_caller_waits_no_longer_than_the_acquire_timeout(
    database: DatabaseUnderTest,
) -> None:
    """A connection held by work that never ends (a leak) makes the next caller fail with an
    error that says so, not hang; the pool serves again once the connection comes back."""
    pool = ConnectionPool(database.owner_dsn, max_size=1, acquire_timeout_s=0.3)
    held = asyncio.Event()
    release = asyncio.Event()

    async def hold() -> None:
        async with pool.acquire():
            held.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    try:
        await held.wait()
        started = asyncio.get_running_loop().time()
        with pytest.raises(PoolTimeout, match="1 of 1 in use") as waited:
            await pool.fetch("SELECT 1")
        # Answered as the database being unavailable: a 503 to retry, not a 500.
        unavailable = as_unavailable(waited.value)
        assert unavailable is not None and unavailable.http_status == 503
        assert 0.25 < asyncio.get_running_loop().time() - started < 5
        release.set()
        await holder
        assert await pool.fetch("SELECT 42 AS answer") == [(42,)]
    finally:
        release.set()
        await holder
        await pool.close()
