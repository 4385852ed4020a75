"""A small JSON cache with expiry: Redis normally, a dict in single-process mode."""

from __future__ import annotations

import time
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis

from core import jsontext


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...

    async def set(self, key: str, value: Any, *, ttl_s: int) -> None: ...

    async def set_many(self, items: dict[str, Any], *, ttl_s: int) -> None: ...


# KEYS: the entries' keys; ARGV: their values, then the TTL in seconds.
_SET_MANY = """
local ttl = ARGV[#ARGV]
for i, key in ipairs(KEYS) do redis.call('SET', key, ARGV[i], 'EX', ttl) end
"""


class RedisCache:
    def __init__(self, redis: Redis, prefix: str = "cache:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._set_many = redis.register_script(_SET_MANY)

    async def get(self, key: str) -> Any | None:
        raw = await self._redis.get(self._prefix + key)
        return orjson.loads(raw) if raw is not None else None

    async def set(self, key: str, value: Any, *, ttl_s: int) -> None:
        await self._redis.set(self._prefix + key, jsontext.text(value), ex=ttl_s)

    async def set_many(self, items: dict[str, Any], *, ttl_s: int) -> None:
        """One command for all of them (a pipeline still parses a reply per entry)."""
        if not items:
            return
        await self._set_many(
            keys=[self._prefix + key for key in items],
            args=[*(jsontext.text(value) for value in items.values()), ttl_s],
        )


class MemoryCache:
    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, str]] = {}

    async def get(self, key: str) -> Any | None:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            self._entries.pop(key, None)
            return None
        return orjson.loads(entry[1])

    async def set(self, key: str, value: Any, *, ttl_s: int) -> None:
        self._entries[key] = (time.monotonic() + ttl_s, jsontext.text(value))

    async def set_many(self, items: dict[str, Any], *, ttl_s: int) -> None:
        for key, value in items.items():
            await self.set(key, value, ttl_s=ttl_s)
