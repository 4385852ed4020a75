"""The process-wide resources (database, Redis, event bus) for the API and the workers."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis

from core.db import Database, create_engine
from core.events import EventBus, InMemoryBus, RedisStreamBus
from core.redis import create_redis
from core.settings import Settings


@dataclass(slots=True)
class Runtime:
    settings: Settings
    db: Database
    redis: Redis | None

    @classmethod
    def start(cls, settings: Settings, *, dsn: str | None = None) -> Runtime:
        redis = None if settings.single_process else create_redis(settings.redis_url)
        bus: EventBus = RedisStreamBus(redis) if redis is not None else InMemoryBus()
        return cls(settings, Database(create_engine(settings, dsn=dsn), bus), redis)

    async def close(self) -> None:
        await self.db.dispose()
        if self.redis is not None:
            await self.redis.aclose()
