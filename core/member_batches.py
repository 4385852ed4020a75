"""A hot read by key that checks the caller's membership itself, answered for many requests
by one statement (migration 0029's `auth_read_vehicles`).

A batch statement takes four arrays, element i being request i (its user, its workspace,
then its key), plus the roles that may read; it returns, per element, either a refusal row
(`refusal` 'inactive', or 'role' with the caller's `role`) or the element's rows, each
carrying its 1-based `ordinal`. Elements go sorted by user and workspace, so the statement
checks each caller's membership and sets each scope once per batch."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from uuid import UUID

import asyncpg

from core.coalescing import Coalescer

# A batch runs its elements one after another in one backend: keep each one short.
MAX_BATCH = 64

Fetch = Callable[..., Awaitable[list[asyncpg.Record]]]


class NotAMember(Exception):
    """The user was deleted or is not active, or the workspace was deleted."""


class RoleRefused(Exception):
    def __init__(self, role: str) -> None:
        super().__init__(role)
        self.role = role


@dataclass(frozen=True, slots=True)
class _Read:
    user_id: UUID
    workspace_id: UUID
    key: object


Outcome = list[asyncpg.Record] | NotAMember | RoleRefused


class MemberBatch:
    """The reads of one batch statement for one set of roles, coalesced."""

    def __init__(self, fetch: Fetch, statement: str, roles: tuple[str, ...]) -> None:
        self._fetch = fetch
        self._statement = statement
        self._roles = list(roles)
        self._batches: Coalescer[_Read, Outcome] = Coalescer(self._answer, max_batch=MAX_BATCH)

    async def read(self, user_id: UUID, workspace_id: UUID, key: object) -> list[asyncpg.Record]:
        """The rows read for this request; NotAMember or RoleRefused as the database found."""
        outcome = await self._batches.ask(_Read(user_id, workspace_id, key))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def _answer(self, reads: list[_Read]) -> list[Outcome]:
        order = sorted(range(len(reads)), key=lambda i: (reads[i].user_id, reads[i].workspace_id))
        rows = await self._fetch(
            self._statement,
            [reads[i].user_id for i in order],
            [reads[i].workspace_id for i in order],
            self._roles,
            [reads[i].key for i in order],
        )
        outcomes: list[Outcome] = [[] for _ in reads]
        for row in rows:
            i = order[row["ordinal"] - 1]
            refusal = row["refusal"]
            if refusal is None:
                found = outcomes[i]
                assert isinstance(found, list)
                found.append(row)
            elif refusal == "role":
                outcomes[i] = RoleRefused(row["role"])
            else:
                outcomes[i] = NotAMember()
        return outcomes
