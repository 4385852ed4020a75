"""The event bus: the spec's event envelope, published to one Redis stream per topic.

Events are written to the transactional outbox with the change that made them
(`core.db.Database.session`) and published by the outbox relay (`core.outbox`), so a
rolled-back change never announces itself and a committed one always does, at least once.
In single-process mode the bus is an in-memory list per topic with the same interface.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID, uuid4

import orjson
from redis.asyncio import Redis

STREAM_PREFIX = "events:"
STREAM_MAXLEN = 100_000
# Every topic that has been published, so consumers of all topics find new streams.
TOPICS_KEY = "events:topics"


def stream_key(topic: str) -> str:
    return STREAM_PREFIX + topic


@dataclass(frozen=True, slots=True)
class Event:
    event_type: str
    workspace_id: UUID
    actor_id: UUID | None
    data: dict[str, Any]
    event_id: UUID = field(default_factory=uuid4)
    timestamp: datetime = field(default_factory=lambda: datetime.now(UTC))
    version: int = 1

    def envelope_text(self) -> str:
        return orjson.dumps(self.envelope(), default=str).decode()

    def envelope(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event_type": self.event_type,
            "workspace_id": str(self.workspace_id),
            "actor_id": str(self.actor_id) if self.actor_id else None,
            "timestamp": self.timestamp.isoformat().replace("+00:00", "Z"),
            "data": self.data,
            "version": self.version,
        }

    @classmethod
    def from_envelope(cls, raw: dict[str, Any]) -> Event:
        return cls(
            event_type=raw["event_type"],
            workspace_id=UUID(raw["workspace_id"]),
            actor_id=UUID(raw["actor_id"]) if raw.get("actor_id") else None,
            data=raw["data"],
            event_id=UUID(raw["event_id"]),
            timestamp=datetime.fromisoformat(raw["timestamp"].replace("Z", "+00:00")),
            version=raw.get("version", 1),
        )


class EventBus(Protocol):
    async def publish(self, event: Event) -> None: ...

    async def publish_many(self, entries: Sequence[tuple[str, str]]) -> None:
        """Publish (topic, envelope text) pairs in order."""
        ...

    async def read(self, topic: str, *, after: str = "0", count: int = 100) -> list[Event]: ...


class RedisStreamBus:
    """One stream per topic (`events:route.optimized`), capped at about STREAM_MAXLEN."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def publish(self, event: Event) -> None:
        await self.publish_many([(event.event_type, event.envelope_text())])

    async def publish_many(self, entries: Sequence[tuple[str, str]]) -> None:
        """One round trip for the whole batch, in order."""
        if not entries:
            return
        pipe = self._redis.pipeline(transaction=False)
        pipe.sadd(TOPICS_KEY, *{topic for topic, _ in entries})
        for topic, envelope in entries:
            pipe.xadd(
                stream_key(topic), {"event": envelope}, maxlen=STREAM_MAXLEN, approximate=True
            )
        await pipe.execute()

    async def read(self, topic: str, *, after: str = "0", count: int = 100) -> list[Event]:
        entries = await self._redis.xrange(
            STREAM_PREFIX + topic, min=f"({after}" if after != "0" else "-", count=count
        )
        return [Event.from_envelope(orjson.loads(fields[b"event"])) for _, fields in entries]


class InMemoryBus:
    """The single-process stand-in: keeps the last events of each topic in memory."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self._topics: dict[str, list[Event]] = defaultdict(list)
        self._maxlen = maxlen

    async def publish(self, event: Event) -> None:
        topic = self._topics[event.event_type]
        topic.append(event)
        del topic[: -self._maxlen]

    async def publish_many(self, entries: Sequence[tuple[str, str]]) -> None:
        for _, envelope in entries:
            await self.publish(Event.from_envelope(orjson.loads(envelope)))

    async def read(self, topic: str, *, after: str = "0", count: int = 100) -> list[Event]:
        start = int(after) if after != "0" else 0
        return self._topics[topic][start : start + count]
