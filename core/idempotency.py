"""Stored first answers for `Idempotency-Key` (the IETF httpapi draft): a key is claimed
before the work starts, then holds the answer for 24 hours. Redis when there is one; a
dictionary in the single-process mode."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from redis.asyncio import Redis

from core import jsontext

KEEP_S = 24 * 3600
# A claim whose request died without an answer is released after this long.
PENDING_S = 120


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status: int | None  # None: the first request is still running
    body: bytes = b""
    media_type: str = "application/json"


class IdempotencyStore(Protocol):
    async def claim(self, key: str, fingerprint: str) -> Stored | None:
        """None when this request claimed the key; else what the key holds."""

    async def finish(self, key: str, stored: Stored) -> None: ...

    async def release(self, key: str) -> None: ...


def _encode(stored: Stored) -> str:
    return jsontext.text(
        {
            "fingerprint": stored.fingerprint,
            "status": stored.status,
            "body": stored.body.decode(),
            "media_type": stored.media_type,
        }
    )


def _decode(raw: bytes | str) -> Stored:
    data: dict[str, Any] = orjson.loads(raw)
    return Stored(data["fingerprint"], data["status"], data["body"].encode(), data["media_type"])


class RedisIdempotencyStore:
    def __init__(self, redis: Redis, prefix: str = "idempotency:") -> None:
        self.redis = redis
        self.prefix = prefix

    async def claim(self, key: str, fingerprint: str) -> Stored | None:
        pending = _encode(Stored(fingerprint, None))
        if await self.redis.set(self.prefix + key, pending, nx=True, ex=PENDING_S):
            return None
        raw = await self.redis.get(self.prefix + key)
        # Gone between the two calls (a released claim): the caller asks again.
        return _decode(raw) if raw is not None else Stored(fingerprint, None)

    async def finish(self, key: str, stored: Stored) -> None:
        await self.redis.set(self.prefix + key, _encode(stored), ex=KEEP_S)

    async def release(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)


class MemoryIdempotencyStore:
    def __init__(self) -> None:
        self._items: dict[str, tuple[float, Stored]] = {}

    async def claim(self, key: str, fingerprint: str) -> Stored | None:
        now = time.monotonic()
        held = self._items.get(key)
        if held is not None and held[0] > now:
            return held[1]
        self._items[key] = (now + PENDING_S, Stored(fingerprint, None))
        return None

    async def finish(self, key: str, stored: Stored) -> None:
        self._items[key] = (time.monotonic() + KEEP_S, stored)

    async def release(self, key: str) -> None:
        self._items.pop(key, None)
