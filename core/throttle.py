"""Failed-login throttling: exponential backoff per account and per IP, never a lock-out.

After `free_failures` failures within an hour, each further failure makes the key wait
2, 4, 8, ... seconds (capped at `max_delay_s`) before the next attempt is even checked.

An attempt is counted as a failure before its password is checked, atomically with the
check that no key is waiting, and uncounted if it succeeds: counted afterwards, parallel
guesses would all pass the check before the first failure was recorded.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Protocol

from redis.asyncio import Redis

FAILURE_WINDOW_S = 3600


@dataclass(frozen=True, slots=True)
class Backoff:
    free_failures: int
    max_delay_s: int

    def delay_after(self, failures: int) -> int:
        excess = failures - self.free_failures
        return 0 if excess < 0 else int(min(self.max_delay_s, 2 ** (excess + 1)))


@dataclass(frozen=True, slots=True)
class Wait:
    key: str
    seconds: int


class LoginThrottle(Protocol):
    async def reserve(self, keys: list[tuple[str, Backoff]]) -> Wait | None:
        """Count one failure under every key, or, while any key waits, count nothing and
        return the longest wait."""
        ...

    async def refund(self, key: str) -> None:
        """Uncount the failure reserved for an attempt that succeeded."""
        ...

    async def clear(self, key: str) -> None: ...


# KEYS: per key its failure count, then its wait-until; ARGV: the window, then per key its
# free failures and maximum delay. Returns {index of the key that waits, seconds} or {0, 0}.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1e6
local longest, which = 0, 0
for i = 1, #KEYS, 2 do
    local wait = tonumber(redis.call('GET', KEYS[i + 1]) or '0') - now
    if wait > longest then longest, which = wait, (i + 1) / 2 end
end
if which > 0 then return {which, math.ceil(longest)} end
for i = 1, #KEYS, 2 do
    local j = (i + 1) / 2
    local failures = redis.call('INCR', KEYS[i])
    redis.call('EXPIRE', KEYS[i], tonumber(ARGV[1]))
    local excess = failures - tonumber(ARGV[2 * j])
    if excess >= 0 then
        local delay = math.min(tonumber(ARGV[2 * j + 1]), 2 ^ (excess + 1))
        redis.call('SET', KEYS[i + 1], tostring(now + delay), 'EX', math.ceil(delay))
    end
end
return {0, 0}
"""


class RedisLoginThrottle:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._reserve = redis.register_script(_RESERVE)

    async def reserve(self, keys: list[tuple[str, Backoff]]) -> Wait | None:
        names: list[str] = []
        args: list[int] = [FAILURE_WINDOW_S]
        for key, backoff in keys:
            names += [f"login:fail:{key}", f"login:until:{key}"]
            args += [backoff.free_failures, backoff.max_delay_s]
        which, seconds = await self._reserve(keys=names, args=args)
        return Wait(keys[int(which) - 1][0], int(seconds)) if which else None

    async def refund(self, key: str) -> None:
        if int(await self._redis.decr(f"login:fail:{key}")) <= 0:
            await self._redis.delete(f"login:fail:{key}")

    async def clear(self, key: str) -> None:
        await self._redis.delete(f"login:fail:{key}", f"login:until:{key}")


class MemoryLoginThrottle:
    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._until: dict[str, float] = {}

    async def reserve(self, keys: list[tuple[str, Backoff]]) -> Wait | None:
        now = time.time()
        waits = [(self._until.get(key, 0) - now, key) for key, _ in keys]
        longest, key = max(waits)
        if longest > 0:
            return Wait(key, math.ceil(longest))
        for key, backoff in keys:
            count, first = self._failures.get(key, (0, now))
            if now - first > FAILURE_WINDOW_S:
                count, first = 0, now
            self._failures[key] = (count + 1, first)
            delay = backoff.delay_after(count + 1)
            if delay:
                self._until[key] = now + delay
        return None

    async def refund(self, key: str) -> None:
        count, first = self._failures.get(key, (0, 0.0))
        if count > 1:
            self._failures[key] = (count - 1, first)
        else:
            self._failures.pop(key, None)

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)
        self._until.pop(key, None)
