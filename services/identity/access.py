"""Is a token's user still allowed to act? Checked on every authenticated request, so the
checks of all requests waiting at the same moment share one query (as the position writer
shares one transaction): under load that is one round trip per batch instead of a tenant
transaction per request, and the answer is never older than the request."""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from uuid import UUID

from core.coalescing import Coalescer
from core.db import Database

_QUERY = (
    "SELECT user_id, workspace_id, role::text, organization_id"
    " FROM auth_active_members($1::uuid[], $2::uuid[])"
)

Key = tuple[UUID, UUID]
# At most this many callers checked by one statement, so that a burst cannot make it long.
MAX_BATCH = 256


@dataclass(frozen=True, slots=True)
class Member:
    role: str
    organization_id: UUID | None


class ActiveMembers:
    """Coalesces look-ups (core.coalescing): requests waiting together share one query."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._batches: Coalescer[Key, Member | None] = Coalescer(self._answer, max_batch=MAX_BATCH)

    async def get(self, user_id: UUID, workspace_id: UUID) -> Member | None:
        """The member's role and organization; None if the user was deleted or is not
        active, or their workspace was deleted."""
        return await self._batches.ask((user_id, workspace_id))

    async def _answer(self, keys: list[Key]) -> list[Member | None]:
        asked = list(dict.fromkeys(keys))  # a user's concurrent requests: asked once
        rows = await self._db.lookup(_QUERY, [k[0] for k in asked], [k[1] for k in asked])
        found = {
            (r["user_id"], r["workspace_id"]): Member(r["role"], r["organization_id"]) for r in rows
        }
        return [found.get(key) for key in keys]


_per_database: weakref.WeakKeyDictionary[Database, ActiveMembers] = weakref.WeakKeyDictionary()


def active_members(db: Database) -> ActiveMembers:
    """The checker of `db`'s process (one per Database, as its pools are)."""
    checker = _per_database.get(db)
    if checker is None:
        checker = _per_database[db] = ActiveMembers(db)
    return checker
