"""Every statement a request sends to PostgreSQL, whichever path sends it (the ORM, the
plain-connection reads, the look-ups), counted at asyncpg's entry points for the task that
counts and the tasks it starts (dataloader batches), not for the app's background tasks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from asyncpg.prepared_stmt import PreparedStatement

_SENT: ContextVar[list[str] | None] = ContextVar("sql_sent", default=None)


def _simple(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        sent = _SENT.get()
        if sent is not None and not args:  # with arguments it is counted in _execute
            sent.extend(s.strip() for s in query.split(";") if s.strip())
        return await method(self, query, *args, **kwargs)

    return counted


def _one(method: Callable[..., Any], query_of: Callable[..., str]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        sent = _SENT.get()
        if sent is not None:
            sent.append(query_of(*args))
        return await method(*args, **kwargs)

    return counted


def _patches() -> list[tuple[type, str, Callable[..., Any]]]:
    def prepared(stmt: Any, *_: Any) -> str:
        return str(stmt.get_query())

    def direct(_: Any, query: str, *__: Any, **___: Any) -> str:
        return query

    conn = asyncpg.Connection
    patches: list[tuple[type, str, Callable[..., Any]]] = [
        (conn, "execute", _simple(conn.execute)),
        (conn, "_execute", _one(conn._execute, direct)),
        (conn, "executemany", _one(conn.executemany, direct)),
    ]
    for name in ("fetch", "fetchrow", "fetchval", "executemany"):
        patches.append((PreparedStatement, name, _one(getattr(PreparedStatement, name), prepared)))
    return patches


@contextmanager
def sql_sent() -> Iterator[list[str]]:
    """The statements sent while the block runs (a simple query's statements one by one)."""
    originals = [(owner, name, getattr(owner, name)) for owner, name, _ in _patches()]
    for owner, name, wrapped in _patches():
        setattr(owner, name, wrapped)
    sent: list[str] = []
    token = _SENT.set(sent)
    try:
        yield sent
    finally:
        _SENT.reset(token)
        for owner, name, original in originals:
            setattr(owner, name, original)
