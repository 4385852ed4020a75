"""Is a token's user still allowed to act? Checked on every authenticated request, so the
checks of all requests waiting at the same moment share one query (as the position writer
shares one transaction): under load that is one round trip per batch instead of a tenant
transaction per request, and the answer is never older than the request."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass
from uuid import UUID

from core.db import Database

_QUERY = (
    "SELECT user_id, workspace_id, role::text, organization_id"
    " FROM auth_active_members($1::uuid[], $2::uuid[])"
)

Key = tuple[UUID, UUID]


@dataclass(frozen=True, slots=True)
class Member:
    role: str
    organization_id: UUID | None


class ActiveMembers:
    """Coalesces look-ups: the first asks at once, in its own task; those arriving while a
    query is out wait for the next one, which asks for all of them."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._waiting: dict[Key, asyncio.Future[Member | None]] = {}
        self._running: asyncio.Task[None] | None = None
        self._asking = False

    async def get(self, user_id: UUID, workspace_id: UUID) -> Member | None:
        """The member's role and organization; None if the user was deleted or is not
        active, or their workspace was deleted."""
        if not self._asking and self._running is None:
            return await self._ask_alone(user_id, workspace_id)
        key = (user_id, workspace_id)
        future = self._waiting.get(key)
        if future is None:
            future = asyncio.get_running_loop().create_future()
            self._waiting[key] = future
            if self._running is None and not self._asking:
                self._running = asyncio.create_task(self._drain())
        # One caller giving up (a client hung up) must not cancel the others' answer.
        return await asyncio.shield(future)

    async def _ask_alone(self, user_id: UUID, workspace_id: UUID) -> Member | None:
        """Nothing in flight: ask for this one directly (no task, no future); whoever comes
        meanwhile waits for the batch started when this answer is in."""
        self._asking = True
        try:
            rows = await self._db.lookup(_QUERY, [user_id], [workspace_id])
        finally:
            self._asking = False
            if self._waiting and self._running is None:
                self._running = asyncio.create_task(self._drain())
        return Member(rows[0]["role"], rows[0]["organization_id"]) if rows else None

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                await self._answer(batch)
        finally:
            self._running = None

    async def _answer(self, batch: dict[Key, asyncio.Future[Member | None]]) -> None:
        keys = list(batch)
        try:
            rows = await self._db.lookup(_QUERY, [k[0] for k in keys], [k[1] for k in keys])
        except Exception as exc:
            for future in batch.values():
                if not future.done():
                    future.set_exception(exc)
            return
        found = {(r["user_id"], r["workspace_id"]): r for r in rows}
        for key, future in batch.items():
            row = found.get(key)
            if not future.done():
                future.set_result(Member(row["role"], row["organization_id"]) if row else None)


_per_database: weakref.WeakKeyDictionary[Database, ActiveMembers] = weakref.WeakKeyDictionary()


def active_members(db: Database) -> ActiveMembers:
    """The checker of `db`'s process (one per Database, as its pools are)."""
    checker = _per_database.get(db)
    if checker is None:
        checker = _per_database[db] = ActiveMembers(db)
    return checker
