"""A small pool of asyncpg connections for the hot reads and look-ups (core.db.Database).

asyncpg's own Pool spends about 50 µs of CPU on every use, more than a one-row statement's
round trip: each release runs in a task of its own (asyncio.shield) and each use sets up
timeouts and a proxy object. Here a connection is taken from a list and put back, and the
rule that keeps that safe is simple: a connection goes back only when it is ready for the
next statement, outside any transaction. One that ends its use in a cancellation (perhaps in
the middle of a statement), a timeout or a broken socket, or with a transaction still open,
is closed, and the next use opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import asyncpg

# Ends of a use after which the connection may be in the middle of a statement.
_BROKEN = (
    asyncio.CancelledError,
    TimeoutError,
    OSError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


# How long a caller waits for a connection before giving up. Under load a wait is
# milliseconds; one this long means connections are held by work that does not end (a
# leak), and an error that says so beats callers that hang.
ACQUIRE_TIMEOUT_S = 10.0


class PoolTimeout(asyncpg.InterfaceError):
    """No connection came free within the pool's acquire timeout."""


class ConnectionPool:
    def __init__(
        self,
        dsn: str,
        *,
        max_size: int,
        acquire_timeout_s: float = ACQUIRE_TIMEOUT_S,
        **connect_kwargs: Any,
    ) -> None:
        self._dsn = dsn
        self._max_size = max_size
        self._acquire_timeout_s = acquire_timeout_s
        self._connect_kwargs = connect_kwargs
        self._idle: deque[asyncpg.Connection] = deque()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._size = 0  # open, opening and in use
        self._closed = False

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[asyncpg.Connection]:
        conn = await self._take()
        try:
            yield conn
        except _BROKEN:
            self._give(conn, reusable=False)
            raise
        except BaseException:
            self._give(conn, reusable=True)
            raise
        self._give(conn, reusable=True)

    async def fetch(self, query: str, *args: object) -> list[asyncpg.Record]:
        async with self.acquire() as conn:
            rows: list[asyncpg.Record] = await conn.fetch(query, *args)
            return rows

    async def close(self) -> None:
        """Close the idle connections now and each one in use when it comes back."""
        self._closed = True
        idle, self._idle = list(self._idle), deque()
        self._size -= len(idle)
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        for conn in idle:
            with contextlib.suppress(Exception):
                await conn.close(timeout=5)

    async def _take(self) -> asyncpg.Connection:
        # One deadline for the whole wait: a waiter woken but beaten to the connection
        # waits again, within what is left of it.
        deadline = asyncio.get_running_loop().time() + self._acquire_timeout_s
        while True:
            if self._closed:
                raise asyncpg.InterfaceError("the connection pool is closed")
            while self._idle:
                conn = self._idle.pop()  # the most recently used: its caches are warm
                if not conn.is_closed():
                    return conn
                self._size -= 1
            if self._size < self._max_size:
                self._size += 1
                try:
                    return await asyncpg.connect(self._dsn, **self._connect_kwargs)
                except BaseException:
                    self._size -= 1
                    self._wake_one()
                    raise
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled: the turn goes to the next
                else:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(waiter)
                if isinstance(exc, TimeoutError):
                    raise PoolTimeout(
                        f"no connection came free in {self._acquire_timeout_s:g} s"
                        f" ({self._size} of {self._max_size} in use)"
                    ) from None
                raise

    def _give(self, conn: asyncpg.Connection, *, reusable: bool) -> None:
        if reusable and not self._closed and not conn.is_closed() and not conn.is_in_transaction():
            self._idle.append(conn)
        else:
            self._size -= 1
            conn.terminate()
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
