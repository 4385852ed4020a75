"""Guaranteed delivery: a committed event reaches its stream and every consumer group even
when the API dies right after the commit; consumer groups share work, survive a killed
consumer, and set poison events aside."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import orjson
import pytest
from redis.asyncio import Redis

from core.events import Event, RedisStreamBus
from core.streams import ConsumerGroup, ConsumerSettings, GroupSpec, dead_letter_key
from tests.conftest import TEST_REDIS_URL, DatabaseUnderTest
from tests.events_helpers import events_process, eventually
from tests.helpers import register
from tests.served_app import served_app

pytestmark = pytest.mark.slow


async def topic_counts(owner_conn: asyncpg.Connection, workspace_id: str) -> dict[str, int]:
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", workspace_id
        )
        rows = await owner_conn.fetch("SELECT topic, event_count FROM event_topic_counts")
    return {r["topic"]: r["event_count"] for r in rows}


async def test_an_event_committed_just_before_the_api_is_killed_still_reaches_its_consumers(
    database: DatabaseUnderTest, redis: Redis, owner_conn: asyncpg.Connection
) -> None:
    # The API dies (SIGKILL) right after committing a vehicle, before any relay ran.
    async with served_app(
        database.owner_url,
        TEST_REDIS_URL,
        env={"OMNIROUTE_FAULTS": "committed:vehicle.created", "EVENT_RELAY_IN_API": "false"},
    ) as server:
        admin = await register(server.http)
        with pytest.raises(httpx.TransportError):
            await server.http.post(
                "/api/v1/vehicles",
                json={"vehicle_type": "van", "plate_number": "KILL-1", "capacity_kg": 500},
                headers=admin.headers,
            )
        with pytest.raises(httpx.TransportError):  # the process is gone
            await server.http.get("/health")
    assert await redis.exists("events:vehicle.created") == 0

    # The change did commit: the vehicle exists, and so does its event, in the outbox.
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        assert await owner_conn.fetchval("SELECT plate_number FROM vehicles") == "KILL-1"

    async with events_process(database):
        entries = await eventually(lambda: redis.xrange("events:vehicle.created"), bool)
        assert len(entries) == 1
        envelope = orjson.loads(entries[0][1][b"event"])
        assert envelope["workspace_id"] == admin.workspace_id
        assert envelope["data"]["plate_number"] == "KILL-1"
        counts = await eventually(
            lambda: topic_counts(owner_conn, admin.workspace_id),
            lambda c: c.get("vehicle.created") == 1,
        )
        assert counts["vehicle.created"] == 1
    # Every group read it.
    for group in ("analytics", "notification"):
        info = {g["name"].decode(): g for g in await redis.xinfo_groups("events:vehicle.created")}
        assert info[group]["pending"] == 0
        assert info[group]["last-delivered-id"] == entries[0][0]


async def test_a_consumer_killed_before_acknowledging_loses_nothing_and_applies_nothing_twice(
    database: DatabaseUnderTest, redis: Redis, owner_conn: asyncpg.Connection
) -> None:
    workspace = uuid.uuid4()
    await publish(redis, workspace, "route.created", 30)
    # This consumer applies its batch, then dies before XACK: its entries stay pending.
    async with events_process(
        database,
        "--groups",
        "analytics",
        "--no-relay",
        env={"OMNIROUTE_FAULTS": "consumer.analytics.before_ack"},
    ) as doomed:
        await asyncio.to_thread(doomed.wait, 30)
        assert doomed.returncode == -signal.SIGKILL
    pending = await redis.xpending("events:route.created", "analytics")
    assert pending["pending"] == 30
    # Two more consumers of the group: one reclaims the dead one's entries; the receipts
    # make the second application a no-op.
    async with (
        events_process(database, "--groups", "analytics", "--no-relay"),
        events_process(database, "--groups", "analytics", "--no-relay"),
    ):
        await publish(redis, workspace, "route.created", 10)
        counts = await eventually(
            lambda: topic_counts(owner_conn, str(workspace)),
            lambda c: c.get("route.created") == 40,
        )
        assert counts == {"route.created": 40}
        await eventually(
            lambda: redis.xpending("events:route.created", "analytics"),
            lambda p: p["pending"] == 0,
        )
        await asyncio.sleep(1.0)
    assert await topic_counts(owner_conn, str(workspace)) == {"route.created": 40}
    assert (await redis.xpending("events:route.created", "analytics"))["pending"] == 0


async def publish(redis: Redis, workspace: uuid.UUID, topic: str, n: int) -> list[Event]:
    events = [Event(topic, workspace, None, {"n": i}) for i in range(n)]
    await RedisStreamBus(redis).publish_many([(e.event_type, e.envelope_text()) for e in events])
    return events


async def run_for(consumer: ConsumerGroup, until: Callable[[], Awaitable[bool]]) -> None:
    for _ in range(200):
        await consumer.step()
        if await until():
            return
        await asyncio.sleep(0.02)


async def test_a_poison_event_is_dead_lettered_after_the_configured_deliveries(
    redis: Redis,
) -> None:
    handled: list[int] = []
    attempts = 0

    async def handle(events: list[Event]) -> None:
        nonlocal attempts
        for event in events:
            if event.data["n"] == 2:
                # A failing batch is retried event by event: count the poison's own tries.
                attempts += len(events) == 1
                raise RuntimeError("poison")
        handled.extend(event.data["n"] for event in events)

    settings = ConsumerSettings(batch_size=10, block_ms=10, claim_idle_ms=50, max_deliveries=3)
    consumer = ConsumerGroup(redis, GroupSpec("probe", ["test.poison"], handle), settings)
    await consumer.step()  # creates the group
    await publish(redis, uuid.uuid4(), "test.poison", 5)

    async def dead() -> bool:
        return await redis.xlen(dead_letter_key("probe")) == 1

    await run_for(consumer, dead)
    # The others went through at once; the poison one was tried three times, then set aside.
    assert sorted(handled) == [0, 1, 3, 4]
    assert attempts == 3
    [(_, letter)] = await redis.xrange(dead_letter_key("probe"))
    assert orjson.loads(letter[b"event"])["data"] == {"n": 2}
    assert letter[b"stream"] == b"events:test.poison"
    assert (await redis.xpending("events:test.poison", "probe"))["pending"] == 0


async def test_consumers_gone_silent_with_nothing_pending_are_forgotten(redis: Redis) -> None:
    async def handle(events: list[Event]) -> None:
        return None

    settings = ConsumerSettings(batch_size=10, block_ms=10, claim_idle_ms=50, max_deliveries=3)
    spec = GroupSpec("probe", ["test.gone"], handle)
    ghost = ConsumerGroup(redis, spec, settings, name="ghost")
    await ghost.step()
    await publish(redis, uuid.uuid4(), "test.gone", 2)
    assert await ghost.step() == 2
    names = {c["name"] for c in await redis.xinfo_consumers("events:test.gone", "probe")}
    assert names == {b"ghost"}
    await asyncio.sleep(1.2)  # 20 claim periods of 50 ms
    live = ConsumerGroup(redis, spec, settings, name="live")
    await live.step()
    names = {c["name"] for c in await redis.xinfo_consumers("events:test.gone", "probe")}
    assert b"ghost" not in names
