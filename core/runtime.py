"""The process-wide resources (database, Redis, event bus, security stores) of the API
and the workers; Redis-backed normally, in-memory in single-process mode."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from uuid import UUID

from redis.asyncio import Redis

from core.admission import Admission, LocalAdmission, RedisAdmission
from core.cache import Cache, MemoryCache, RedisCache
from core.db import Database, create_engine
from core.denylist import Denylist, MemoryDenylist, RedisDenylist
from core.events import EventBus, InMemoryBus, RedisStreamBus
from core.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter
from core.redis import create_redis
from core.settings import Settings
from core.throttle import LoginThrottle, MemoryLoginThrottle, RedisLoginThrottle
from core.tokens import TokenService


@dataclass(frozen=True, slots=True)
class Security:
    tokens: TokenService
    denylist: Denylist
    rate_limiter: RateLimiter
    login_throttle: LoginThrottle
    admission: Admission

    async def end_sessions(self, session_ids: Collection[UUID]) -> None:
        """Refuse every access token that these sessions (refresh families) issued."""
        await self.denylist.revoke_sessions(session_ids, ttl_s=self.tokens.longest_life_s)


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    redis: Redis | None
    security: Security
    cache: Cache

    @classmethod
    def start(cls, settings: Settings, *, dsn: str | None = None) -> Runtime:
        redis = None if settings.single_process else create_redis(settings.redis_url)
        bus: EventBus = RedisStreamBus(redis) if redis is not None else InMemoryBus()
        denylist = RedisDenylist(redis) if redis is not None else MemoryDenylist()
        rate_limiter = RedisRateLimiter(redis) if redis is not None else MemoryRateLimiter()
        security = Security(
            tokens=TokenService(settings),
            denylist=denylist,
            rate_limiter=rate_limiter,
            login_throttle=(
                RedisLoginThrottle(redis) if redis is not None else MemoryLoginThrottle()
            ),
            admission=(
                RedisAdmission(redis)
                if redis is not None
                else LocalAdmission(denylist, rate_limiter)
            ),
        )
        cache: Cache = RedisCache(redis) if redis is not None else MemoryCache()
        db = Database(create_engine(settings, dsn=dsn), bus, pooled=settings.db_transaction_pooling)
        return cls(settings, db, redis, security, cache)

    async def close(self) -> None:
        try:
            await self.db.dispose()
        finally:
            try:
                await self.security.admission.aclose()
            finally:
                if self.redis is not None:
                    await self.redis.aclose()
