"""Sliding-window rate limits shared by every API process through Redis.

A window log (a sorted set of request times per key) admits at most `limit` requests in
any 60-second window, so no burst at a window boundary lets twice the budget through.
The user and workspace budgets are checked and charged in one atomic script: a request
refused by one is charged to neither.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

WINDOW_MS = 60_000

# `charge(keys, limits, cost, member, now, window)`: the budgets' keys and their limits,
# the request's cost, a prefix unique to the request, the time and the window, all in ms.
# Returns {1, 0} when charged to every budget, else {0, ms until it would fit} charged to none.
# One script may charge many requests (core.admission): `now` is the same for all of them, so
# each key's expired entries are dropped and its entries counted once per script, its count
# then kept here, and its expiry set once at the end: a script that charges must call
# `expire_charged(window)` before it returns.
WINDOW_CHARGE = """
local used, charged = {}, {}
local function in_window(key, now, window)
    local n = used[key]
    if n == nil then
        redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
        n = redis.call('ZCARD', key)
        used[key] = n
    end
    return n
end
local function charge(budget_keys, limits, cost, member, now, window)
    local retry = 0
    for i, key in ipairs(budget_keys) do
        local count = in_window(key, now, window)
        if count + cost > limits[i] then
            local index = math.max(0, count + cost - limits[i] - 1)
            local oldest = redis.call('ZRANGE', key, index, index, 'WITHSCORES')
            local wait = window
            if oldest[2] then wait = tonumber(oldest[2]) + window - now end
            if wait > retry then retry = wait end
        end
    end
    if retry > 0 then return {0, retry} end
    local added = {}  -- a key named twice holds the request's entries once
    for _, key in ipairs(budget_keys) do
        if not added[key] then
            for n = 1, cost do
                redis.call('ZADD', key, now, member .. ':' .. n)
            end
            used[key] = used[key] + cost
            charged[key] = true
            added[key] = true
        end
    end
    return {1, 0}
end
local function expire_charged(window)
    for key in pairs(charged) do redis.call('PEXPIRE', key, window) end
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""
# KEYS: the budgets' keys; ARGV: window_ms, cost, member prefix, then one limit per key.
_SLIDING_WINDOW = (
    WINDOW_CHARGE
    + """
local limits = {}
for i = 1, #KEYS do limits[i] = tonumber(ARGV[3 + i]) end
local decided = charge(KEYS, limits, tonumber(ARGV[2]), ARGV[3], now, tonumber(ARGV[1]))
expire_charged(tonumber(ARGV[1]))
return decided
"""
)


@dataclass(frozen=True, slots=True)
class Budget:
    key: str
    limit: int


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after_s: int
    revoked: bool = False
    """Refused because the access token was revoked (and charged to no budget)."""


class RateLimiter(Protocol):
    async def hit(self, budgets: Sequence[Budget], *, cost: int = 1) -> Decision: ...


class RedisRateLimiter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._script = redis.register_script(_SLIDING_WINDOW)

    async def hit(self, budgets: Sequence[Budget], *, cost: int = 1) -> Decision:
        allowed, retry_ms = await self._script(
            keys=[b.key for b in budgets],
            args=[WINDOW_MS, cost, uuid.uuid4().hex, *(b.limit for b in budgets)],
        )
        return Decision(bool(allowed), seconds(int(retry_ms)))


class MemoryRateLimiter:
    """Single-process mode: the same window log, in this process only."""

    def __init__(self) -> None:
        self._hits: dict[str, deque[float]] = defaultdict(deque)

    async def hit(self, budgets: Sequence[Budget], *, cost: int = 1) -> Decision:
        now = time.monotonic() * 1000
        retry = 0.0
        for budget in budgets:
            hits = self._hits[budget.key]
            while hits and hits[0] <= now - WINDOW_MS:
                hits.popleft()
            if len(hits) + cost > budget.limit:
                index = max(0, len(hits) + cost - budget.limit - 1)
                retry = max(retry, hits[index] + WINDOW_MS - now)
        if retry > 0:
            return Decision(False, seconds(int(retry)))
        for budget in budgets:
            self._hits[budget.key].extend([now] * cost)
        return Decision(True, 0)


def seconds(ms: int) -> int:
    return max(1, -(-ms // 1000)) if ms > 0 else 0
