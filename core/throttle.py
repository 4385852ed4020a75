"""Failed-login throttling: exponential backoff per account and per IP, never a lock-out.

After `free_failures` failures within an hour, each further failure makes the key wait
2, 4, 8, ... seconds (capped at `max_delay_s`) before the next attempt is even checked.
A success clears the account's record.
"""

from __future__ import annotations

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


class LoginThrottle(Protocol):
    async def wait_s(self, key: str) -> int: ...

    async def failed(self, key: str, backoff: Backoff) -> None: ...

    async def clear(self, key: str) -> None: ...


class RedisLoginThrottle:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def wait_s(self, key: str) -> int:
        until = await self._redis.get(f"login:until:{key}")
        return max(0, int(float(until) - time.time() + 0.999)) if until else 0

    async def failed(self, key: str, backoff: Backoff) -> None:
        failures = int(await self._redis.incr(f"login:fail:{key}"))
        await self._redis.expire(f"login:fail:{key}", FAILURE_WINDOW_S)
        delay = backoff.delay_after(failures)
        if delay:
            await self._redis.set(f"login:until:{key}", time.time() + delay, ex=delay)

    async def clear(self, key: str) -> None:
        await self._redis.delete(f"login:fail:{key}", f"login:until:{key}")


class MemoryLoginThrottle:
    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}
        self._until: dict[str, float] = {}

    async def wait_s(self, key: str) -> int:
        return max(0, int(self._until.get(key, 0) - time.time() + 0.999))

    async def failed(self, key: str, backoff: Backoff) -> None:
        count, first = self._failures.get(key, (0, time.time()))
        if time.time() - first > FAILURE_WINDOW_S:
            count, first = 0, time.time()
        self._failures[key] = (count + 1, first)
        delay = backoff.delay_after(count + 1)
        if delay:
            self._until[key] = time.time() + delay

    async def clear(self, key: str) -> None:
        self._failures.pop(key, None)
        self._until.pop(key, None)
