"""Consumer groups over the event streams (one stream per topic), on redis-py's stream
commands: XREADGROUP to share the work between a group's consumers, XACK once handled,
XAUTOCLAIM to take over what a dead or stuck consumer left pending, and a dead-letter
stream (`events:dead:<group>`) for an entry delivered `max_deliveries` times.

Handlers are called with a batch and must be idempotent by `event_id`: delivery is at
least once (the relay may publish twice, a reclaimed entry may have been half handled).
A batch that fails is retried event by event, so one poison event holds up only itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from core.events import TOPICS_KEY, Event, stream_key
from core.faults import fault_point
from core.settings import Settings

log = logging.getLogger(__name__)

Handler = Callable[[list[Event]], Awaitable[None]]
Entry = tuple[bytes, dict[bytes, bytes]]

HANDLED = Counter("omniroute_consumer_events_total", "Events handled by group.", ["group"])
DEAD = Counter("omniroute_consumer_dead_letters_total", "Events dead-lettered.", ["group"])


def _log_failure(group: str, event: Event) -> None:
    log.exception(
        "event handler failed; the entry stays pending",
        extra={"group": group, "event_id": str(event.event_id)},
    )


def dead_letter_key(group: str) -> str:
    return f"events:dead:{group}"


@dataclass(frozen=True, slots=True)
class GroupSpec:
    """A consuming service: its group name, its topics (None: every topic), its handler."""

    name: str
    topics: Collection[str] | None
    handle: Handler


@dataclass(frozen=True, slots=True)
class ConsumerSettings:
    batch_size: int = 200
    block_ms: int = 1000
    claim_idle_ms: int = 30_000
    max_deliveries: int = 5
    topics_refresh_s: float = 2.0

    @classmethod
    def of(cls, settings: Settings) -> ConsumerSettings:
        return cls(
            batch_size=settings.consumer_batch_size,
            block_ms=settings.consumer_block_ms,
            claim_idle_ms=settings.consumer_claim_idle_ms,
            max_deliveries=settings.consumer_max_deliveries,
        )


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class ConsumerGroup:
    def __init__(
        self,
        redis: Redis,
        spec: GroupSpec,
        settings: ConsumerSettings | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self._redis = redis
        self._spec = spec
        self._settings = settings or ConsumerSettings()
        self.name = name or consumer_name()
        self._streams: list[str] = []
        self._topics_read_at = 0.0
        self._claimed_at = 0.0
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    async def run(self) -> None:
        """Consume until stopped; Redis errors are logged and retried."""
        while not self._stopping:
            try:
                await self.step()
            except (RedisError, OSError) as exc:
                log.warning(
                    "consumer cannot reach Redis",
                    extra={"group": self._spec.name, "error": repr(exc)},
                )
                # A Redis that lost its data (NOGROUP) gets its groups created again.
                self._streams = []
                await asyncio.sleep(1.0)

    async def step(self) -> int:
        """Reclaim what is due, then read and handle one batch; the entries handled."""
        streams = await self._refresh_streams()
        if not streams:
            await asyncio.sleep(self._settings.block_ms / 1000)
            return 0
        handled = 0
        now = time.monotonic()
        if (now - self._claimed_at) * 1000 >= self._settings.claim_idle_ms / 2:
            self._claimed_at = now
            handled += await self.reclaim()
        response = await self._redis.xreadgroup(
            self._spec.name,
            self.name,
            dict.fromkeys(streams, ">"),
            count=self._settings.batch_size,
            block=self._settings.block_ms,
        )
        for stream, entries in response or []:
            handled += await self._process(stream.decode(), entries)
        return handled

    async def reclaim(self) -> int:
        """Take over entries pending longer than `claim_idle_ms`; those delivered
        `max_deliveries` times go to the dead-letter stream instead."""
        handled = 0
        for stream in self._streams:
            cursor: Any = "0-0"
            while True:
                cursor, claimed, _deleted = await self._redis.xautoclaim(
                    stream,
                    self._spec.name,
                    self.name,
                    min_idle_time=self._settings.claim_idle_ms,
                    start_id=cursor,
                    count=self._settings.batch_size,
                )
                claimed = [entry for entry in claimed if entry[1] is not None]
                if claimed:
                    deliveries = await self._deliveries(stream, claimed)
                    fresh = []
                    for entry in claimed:
                        failed = deliveries.get(entry[0], 1) - 1
                        if failed >= self._settings.max_deliveries:
                            await self._dead_letter(stream, entry, f"failed {failed} deliveries")
                        else:
                            fresh.append(entry)
                    handled += await self._process(stream, fresh)
                if cursor in (b"0-0", "0-0"):
                    break
            await self._forget_gone_consumers(stream)
        return handled

    async def _forget_gone_consumers(self, stream: str) -> None:
        """Remove consumers that own nothing and have been silent 20 claim periods: each
        process start names a new consumer, and the dead would otherwise pile up."""
        silent_ms = self._settings.claim_idle_ms * 20
        for consumer in await self._redis.xinfo_consumers(stream, self._spec.name):
            name = consumer["name"]
            name = name.decode() if isinstance(name, bytes) else str(name)
            if name != self.name and consumer["pending"] == 0 and consumer["idle"] > silent_ms:
                await self._redis.xgroup_delconsumer(stream, self._spec.name, name)

    async def _deliveries(self, stream: str, entries: list[Entry]) -> dict[bytes, int]:
        ids = [entry_id for entry_id, _ in entries]
        pending = await self._redis.xpending_range(
            stream,
            self._spec.name,
            min=min(ids),
            max=max(ids),
            count=len(ids) * 4,
            consumername=self.name,
        )
        return {p["message_id"]: int(p["times_delivered"]) for p in pending}

    async def _process(self, stream: str, entries: list[Entry]) -> int:
        events: list[tuple[bytes, Event]] = []
        for entry_id, fields in entries:
            try:
                events.append((entry_id, Event.from_envelope(orjson.loads(fields[b"event"]))))
            except (KeyError, ValueError, TypeError) as exc:
                await self._dead_letter(stream, (entry_id, fields), f"unreadable: {exc!r}")
        if not events:
            return 0
        try:
            await self._spec.handle([event for _, event in events])
            done = [entry_id for entry_id, _ in events]
        except Exception:
            # One at a time, so that a poison event holds up only itself.
            done = []
            for entry_id, event in events if len(events) > 1 else []:
                try:
                    await self._spec.handle([event])
                    done.append(entry_id)
                except Exception:
                    _log_failure(self._spec.name, event)
            if len(events) == 1:
                _log_failure(self._spec.name, events[0][1])
        fault_point(f"consumer.{self._spec.name}.before_ack")
        if done:
            await self._redis.xack(stream, self._spec.name, *done)
            HANDLED.labels(self._spec.name).inc(len(done))
        return len(done)

    async def _dead_letter(self, stream: str, entry: Entry, reason: str) -> None:
        entry_id, fields = entry
        pipe = self._redis.pipeline(transaction=True)
        record: dict[Any, Any] = dict(fields)
        record.update({b"stream": stream.encode(), b"entry_id": entry_id, b"reason": reason})
        pipe.xadd(dead_letter_key(self._spec.name), record)
        pipe.xack(stream, self._spec.name, entry_id)
        await pipe.execute()
        DEAD.labels(self._spec.name).inc()
        log.error(
            "event moved to the dead-letter stream",
            extra={"group": self._spec.name, "stream": stream, "reason": reason},
        )

    async def _refresh_streams(self) -> list[str]:
        now = time.monotonic()
        if self._streams and now - self._topics_read_at < self._settings.topics_refresh_s:
            return self._streams
        self._topics_read_at = now
        if self._spec.topics is None:
            members: set[bytes] = await self._redis.smembers(TOPICS_KEY)  # type: ignore[misc]
            topics = {t.decode() for t in members}
        else:
            topics = set(self._spec.topics)
        streams = sorted(stream_key(topic) for topic in topics)
        for stream in set(streams) - set(self._streams):
            # From the stream's start: what was published before the group existed counts.
            with contextlib.suppress(ResponseError):  # BUSYGROUP: it exists already
                await self._redis.xgroup_create(stream, self._spec.name, id="0", mkstream=True)
        self._streams = streams
        return streams
