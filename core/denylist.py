"""Revoked access tokens, by `jti` or by the session (refresh family) that issued them,
until the tokens would have expired anyway."""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Protocol
from uuid import UUID

from redis.asyncio import Redis

_PREFIX = "denylist:jti:"
_SESSION_PREFIX = "denylist:sid:"


def revoked_key(jti: str) -> str:
    """The Redis key whose presence marks `jti` as revoked."""
    return _PREFIX + jti


def revoked_session_key(session_id: UUID) -> str:
    """The Redis key whose presence marks every access token of a session as revoked."""
    return _SESSION_PREFIX + str(session_id)


class Denylist(Protocol):
    async def revoke(self, jti: str, *, expires_at: int) -> None: ...

    async def revoke_sessions(self, session_ids: Collection[UUID], *, ttl_s: int) -> None: ...

    async def is_revoked(self, jti: str, session_id: UUID | None = None) -> bool: ...


class RedisDenylist:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def revoke(self, jti: str, *, expires_at: int) -> None:
        ttl = max(1, expires_at - int(time.time()))
        await self._redis.set(revoked_key(jti), b"1", ex=ttl)

    async def revoke_sessions(self, session_ids: Collection[UUID], *, ttl_s: int) -> None:
        if not session_ids:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for session_id in session_ids:
                pipe.set(revoked_session_key(session_id), b"1", ex=max(1, ttl_s))
            await pipe.execute()

    async def is_revoked(self, jti: str, session_id: UUID | None = None) -> bool:
        keys = [revoked_key(jti)]
        if session_id is not None:
            keys.append(revoked_session_key(session_id))
        return bool(await self._redis.exists(*keys))


class MemoryDenylist:
    def __init__(self) -> None:
        self._revoked: dict[str, int] = {}

    def _keep_live(self) -> None:
        now = int(time.time())
        self._revoked = {k: v for k, v in self._revoked.items() if v > now}

    async def revoke(self, jti: str, *, expires_at: int) -> None:
        self._keep_live()
        self._revoked[revoked_key(jti)] = expires_at

    async def revoke_sessions(self, session_ids: Collection[UUID], *, ttl_s: int) -> None:
        self._keep_live()
        until = int(time.time()) + max(1, ttl_s)
        for session_id in session_ids:
            self._revoked[revoked_session_key(session_id)] = until

    async def is_revoked(self, jti: str, session_id: UUID | None = None) -> bool:
        now = int(time.time())
        if self._revoked.get(revoked_key(jti), 0) > now:
            return True
        return (
            session_id is not None and self._revoked.get(revoked_session_key(session_id), 0) > now
        )
