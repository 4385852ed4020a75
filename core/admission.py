"""Admitting an authenticated request: its access token is not revoked, and the caller's
rate-limit budgets are charged. With Redis both happen in one script, one round trip per
request; a revoked token is refused before anything is charged. Requests that arrive while
a script is out are admitted together by the next one, each in its turn exactly as alone:
under load one round trip serves a batch."""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis

from core.coalescing import Coalescer
from core.denylist import Denylist, revoked_key, revoked_session_key
from core.ratelimit import WINDOW_CHARGE, WINDOW_MS, Budget, Decision, RateLimiter, seconds
from core.script_channel import Packed, ScriptChannel

# KEYS: per request its token's and its session's denylist keys, then its budgets' keys.
# ARGV: the window, a name for the batch, then per request its number of budgets, its cost
# and one limit per budget. Returns per request {allowed, retry_ms}, allowed -1 if revoked.
# A request's window entries are named after the batch and its place in it.
_ADMIT = (
    WINDOW_CHARGE
    + """
local window, batch = tonumber(ARGV[1]), ARGV[2]
local out, revoked = {}, {}
local function is_revoked(key)
    local found = revoked[key]
    if found == nil then
        found = redis.call('EXISTS', key) > 0
        revoked[key] = found
    end
    return found
end
local k, a, r = 1, 3, 0
while a <= #ARGV do
    r = r + 1
    local n, cost = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
    if is_revoked(KEYS[k]) or is_revoked(KEYS[k + 1]) then
        out[#out + 1] = -1
        out[#out + 1] = 0
    else
        local keys, limits = {}, {}
        for i = 1, n do
            keys[i] = KEYS[k + 1 + i]
            limits[i] = tonumber(ARGV[a + 1 + i])
        end
        local decided = charge(keys, limits, cost, batch .. ':' .. r, now, window)
        out[#out + 1] = decided[1]
        out[#out + 1] = decided[2]
    end
    k = k + 2 + n
    a = a + 2 + n
end
expire_charged(window)
return out
"""
)
# A batch's script runs alone on the Redis server: keep each one short.
MAX_BATCH = 128

_ADMITTED = Decision(True, 0)
_REVOKED = Decision(False, 0, revoked=True)


class Admission(Protocol):
    async def admit(
        self,
        jti: str,
        budgets: Sequence[Budget],
        *,
        cost: int = 1,
        session_id: UUID | None = None,
    ) -> Decision: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Request:
    """A request's part of the script's command (core.script_channel)."""

    keys: Packed
    args: Packed


@functools.lru_cache(maxsize=4096)
def _request(jti: str, session_id: UUID | None, budgets: tuple[Budget, ...], cost: int) -> _Request:
    """Written once per token and charge, not per request."""
    # A token from before sessions were named has only its own key: asked twice.
    token_key = revoked_key(jti)
    session_key = revoked_session_key(session_id) if session_id else token_key
    return _Request(
        Packed.of(token_key, session_key, *(b.key for b in budgets)),
        Packed.of(len(budgets), cost, *(b.limit for b in budgets)),
    )


class RedisAdmission:
    """Coalesces admissions (core.coalescing): requests waiting together share one script
    call. The batches go over a connection of their own (core.script_channel): there is
    never more than one out."""

    def __init__(self, redis: Redis) -> None:
        self._script = ScriptChannel(redis, _ADMIT)
        self._window = Packed.of(WINDOW_MS)
        self._batches: Coalescer[_Request, Decision] = Coalescer(self._run, max_batch=MAX_BATCH)

    async def admit(
        self,
        jti: str,
        budgets: Sequence[Budget],
        *,
        cost: int = 1,
        session_id: UUID | None = None,
    ) -> Decision:
        return await self._batches.ask(_request(jti, session_id, tuple(budgets), cost))

    async def _run(self, requests: list[_Request]) -> list[Decision]:
        # 64 random bits name the batch: a uuid4 costs more than the rest.
        batch = Packed.of(os.urandom(8).hex())
        answer = await self._script(
            [r.keys for r in requests], [self._window, batch, *(r.args for r in requests)]
        )
        decisions = []
        for i in range(0, len(answer), 2):
            allowed, retry_ms = answer[i], answer[i + 1]
            if allowed > 0:
                decisions.append(_ADMITTED)
            elif allowed < 0:
                decisions.append(_REVOKED)
            else:
                decisions.append(Decision(False, seconds(retry_ms)))
        return decisions

    async def aclose(self) -> None:
        await self._script.aclose()


class LocalAdmission:
    """Single-process mode: the in-memory denylist and rate limiter, one after the other."""

    def __init__(self, denylist: Denylist, rate_limiter: RateLimiter) -> None:
        self._denylist = denylist
        self._rate_limiter = rate_limiter

    async def admit(
        self,
        jti: str,
        budgets: Sequence[Budget],
        *,
        cost: int = 1,
        session_id: UUID | None = None,
    ) -> Decision:
        if await self._denylist.is_revoked(jti, session_id):
            return _REVOKED
        return await self._rate_limiter.hit(budgets, cost=cost)

    async def aclose(self) -> None:
        pass
