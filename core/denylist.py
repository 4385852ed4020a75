"""Revoked access tokens, by `jti`, until they would have expired anyway."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

_PREFIX = "denylist:jti:"


def revoked_key(jti: str) -> str:
    """The Redis key whose presence marks `jti` as revoked."""
    return _PREFIX + jti


class Denylist(Protocol):
    async def revoke(self, jti: str, *, expires_at: int) -> None: ...

    async def is_revoked(self, jti: str) -> bool: ...


class RedisDenylist:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke(self, jti: str, *, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()))
        await self._redis.set(revoked_key(jti), b"1", ex=ttl)

    async def is_revoked(self, jti: str) -> bool:
        return bool(await self._redis.exists(revoked_key(jti)))


class MemoryDenylist:
    def __init__(self) -> None:
        self._revoked: dict[str, int] = {}

    async def revoke(self, jti: str, *, expires_at: int) -> None:
        now = int(time.time())
        self._revoked = {k: v for k, v in self._revoked.items() if v > now}
        self._revoked[jti] = expires_at

    async def is_revoked(self, jti: str) -> bool:
        return self._revoked.get(jti, 0) > int(time.time())
