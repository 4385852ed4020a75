"""Admitting an authenticated request: its access token is not revoked, and the caller's
rate-limit budgets are charged. With Redis both happen in one script, one round trip per
request; a revoked token is refused before anything is charged."""

from __future__ import annotations

import uuid
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis

from core.denylist import Denylist, revoked_key, revoked_session_key
from core.ratelimit import WINDOW_MS, WINDOW_SCRIPT_BODY, Budget, Decision, RateLimiter, seconds

# KEYS: the token's and its session's denylist keys, then the budgets' keys; ARGV as the
# sliding window's.
_ADMIT = (
    """
if redis.call('EXISTS', KEYS[1], KEYS[2]) > 0 then return {-1, 0} end
local budget_keys = {}
for i = 3, #KEYS do budget_keys[i - 2] = KEYS[i] end
"""
    + WINDOW_SCRIPT_BODY
)


class Admission(Protocol):
    async def admit(
        self, jti: str, budgets: list[Budget], *, cost: int = 1, session_id: UUID | None = None
    ) -> Decision: ...


class RedisAdmission:
    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_ADMIT)

    async def admit(
        self, jti: str, budgets: list[Budget], *, cost: int = 1, session_id: UUID | None = None
    ) -> Decision:
        token_key = revoked_key(jti)
        # A token from before sessions were named has only its own key: asked twice.
        session_key = revoked_session_key(session_id) if session_id else token_key
        allowed, retry_ms = await self._script(
            keys=[token_key, session_key, *(b.key for b in budgets)],
            args=[WINDOW_MS, cost, uuid.uuid4().hex, *(b.limit for b in budgets)],
        )
        if int(allowed) < 0:
            return Decision(False, 0, revoked=True)
        return Decision(bool(allowed), seconds(int(retry_ms)))


class LocalAdmission:
    """Single-process mode: the in-memory denylist and rate limiter, one after the other."""

    def __init__(self, denylist: Denylist, rate_limiter: RateLimiter) -> None:
        self._denylist = denylist
        self._rate_limiter = rate_limiter

    async def admit(
        self, jti: str, budgets: list[Budget], *, cost: int = 1, session_id: UUID | None = None
    ) -> Decision:
        if await self._denylist.is_revoked(jti, session_id):
            return Decision(False, 0, revoked=True)
        return await self._rate_limiter.hit(budgets, cost=cost)
