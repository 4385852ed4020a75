"""Admitting an authenticated request: its access token is not revoked, and the caller's
rate-limit budgets are charged. With Redis both happen in one script, one round trip per
request; a revoked token is refused before anything is charged. Requests that arrive while
a script is out are admitted together by the next one, each in its turn exactly as alone:
under load one round trip serves a batch."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis

from core.coalescing import Coalescer
from core.denylist import Denylist, revoked_key, revoked_session_key
from core.ratelimit import WINDOW_CHARGE, WINDOW_MS, Budget, Decision, RateLimiter, seconds

# KEYS: per request its token's and its session's denylist keys, then its budgets' keys.
# ARGV: the window, then per request its number of budgets, its cost, its member prefix
# and one limit per budget. Returns per request {allowed, retry_ms}, allowed -1 if revoked.
_ADMIT = (
    WINDOW_CHARGE
    + """
local window = tonumber(ARGV[1])
local out = {}
local k, a = 1, 2
while a <= #ARGV do
    local n, cost, member = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2]
    if redis.call('EXISTS', KEYS[k], KEYS[k + 1]) > 0 then
        out[#out + 1] = -1
        out[#out + 1] = 0
    else
        local keys, limits = {}, {}
        for i = 1, n do
            keys[i] = KEYS[k + 1 + i]
            limits[i] = tonumber(ARGV[a + 2 + i])
        end
        local decided = charge(keys, limits, cost, member, now, window)
        out[#out + 1] = decided[1]
        out[#out + 1] = decided[2]
    end
    k = k + 2 + n
    a = a + 3 + n
end
return out
"""
)
# A batch's script runs alone on the Redis server: keep each one short.
MAX_BATCH = 128


class Admission(Protocol):
    async def admit(
        self, jti: str, budgets: list[Budget], *, cost: int = 1, session_id: UUID | None = None
    ) -> Decision: ...


@dataclass(frozen=True, slots=True)
class _Request:
    token_key: str
    session_key: str
    budgets: list[Budget]
    cost: int


class RedisAdmission:
    """Coalesces admissions (core.coalescing): the first asks at once, those arriving while
    a script is out wait for the next one."""

    def __init__(self, redis: Redis) -> None:
        self._script = redis.register_script(_ADMIT)
        self._batches: Coalescer[_Request, Decision] = Coalescer(self._run, max_batch=MAX_BATCH)

    async def admit(
        self, jti: str, budgets: list[Budget], *, cost: int = 1, session_id: UUID | None = None
    ) -> Decision:
        token_key = revoked_key(jti)
        # A token from before sessions were named has only its own key: asked twice.
        session_key = revoked_session_key(session_id) if session_id else token_key
        return await self._batches.ask(_Request(token_key, session_key, budgets, cost))

    async def _run(self, requests: list[_Request]) -> list[Decision]:
        keys: list[str] = []
        args: list[str | int] = [WINDOW_MS]
        for request in requests:
            keys += [request.token_key, request.session_key, *(b.key for b in request.budgets)]
            # 64 random bits name each request's entries: a uuid4 costs more than the rest.
            args += [len(request.budgets), request.cost, os.urandom(8).hex()]
            args += [b.limit for b in request.budgets]
        answer = await self._script(keys=keys, args=args)
        decisions = []
        for i in range(0, len(answer), 2):
            allowed, retry_ms = int(answer[i]), int(answer[i + 1])
            if allowed < 0:
                decisions.append(Decision(False, 0, revoked=True))
            else:
                decisions.append(Decision(bool(allowed), seconds(retry_ms)))
        return decisions


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
