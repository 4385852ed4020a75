"""The outbox's guarantees inside one database: commit order per workspace, several relays
without double publishing, and receipts that are forgotten once past their time."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import orjson
import pytest
from redis.asyncio import Redis

from core.db import Database, create_engine
from core.events import RedisStreamBus
from core.outbox import OutboxRelay, RelaySettings
from core.principal import Principal
from services.events import emit
from services.receipts import first_deliveries, prune_receipts
from tests.conftest import DatabaseUnderTest
from tests.events_helpers import eventually, relay_all


@pytest.fixture
async def db(database: DatabaseUnderTest, redis: Redis) -> AsyncIterator[Database]:
    engine = create_engine(database.settings)
    yield Database(engine, RedisStreamBus(redis))
    await engine.dispose()


def _emit(session: object, actor: Principal, label: str) -> None:
    emit(
        session=session,  # type: ignore[arg-type]
        actor=actor,
        event_type="route.updated",
        entity_type="route",
        entity_id=None,
        data={"label": label},
    )


async def _labels(redis: Redis) -> list[str]:
    entries = await redis.xrange("events:route.updated")
    return [orjson.loads(fields[b"event"])["data"]["label"] for _, fields in entries]


async def test_a_workspace_events_are_published_in_commit_order(db: Database, redis: Redis) -> None:
    actor = Principal(uuid.uuid4(), uuid.uuid4(), None, "operator")
    slow_started = asyncio.Event()

    async def slow() -> None:
        # Emits first, commits last.
        async with db.session(actor.workspace_id) as session:
            _emit(session, actor, "emitted first, committed second")
            slow_started.set()
            await asyncio.sleep(0.5)

    async def fast() -> None:
        await slow_started.wait()
        async with db.session(actor.workspace_id) as session:
            _emit(session, actor, "emitted second, committed first")

    await asyncio.gather(slow(), fast())
    assert await relay_all(db) == 2
    assert await _labels(redis) == [
        "emitted second, committed first",
        "emitted first, committed second",
    ]


async def test_two_relays_publish_each_event_once(db: Database, redis: Redis) -> None:
    relays = [OutboxRelay(db.dsn, db.bus, RelaySettings(batch_size=7, poll_s=0.01)) for _ in "ab"]
    running = [asyncio.create_task(relay.run()) for relay in relays]
    try:
        actor = Principal(uuid.uuid4(), uuid.uuid4(), None, "operator")

        async def writer(w: int) -> None:
            for n in range(20):
                async with db.session(actor.workspace_id) as session:
                    _emit(session, actor, f"{w}-{n}")

        await asyncio.gather(*(writer(w) for w in range(5)))
        labels = await eventually(lambda: _labels(redis), lambda got: len(got) >= 100)
        await asyncio.sleep(0.3)
        labels = await _labels(redis)
        assert sorted(labels) == sorted(f"{w}-{n}" for w in range(5) for n in range(20))
        # Each writer's events in the order it committed them.
        for w in range(5):
            assert [x for x in labels if x.startswith(f"{w}-")] == [f"{w}-{n}" for n in range(20)]
        assert [relay.is_active for relay in relays].count(True) == 1
    finally:
        for relay, task in zip(relays, running, strict=True):
            relay.stop()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_receipts_past_their_time_are_forgotten(
    db: Database, owner_conn: asyncpg.Connection
) -> None:
    from core.events import Event

    workspace = uuid.uuid4()
    old, recent = (Event("route.updated", workspace, None, {}) for _ in range(2))
    async with db.session(workspace) as session:
        fresh = await first_deliveries(
            session=session, group="probe", workspace_id=workspace, events=[old, recent]
        )
        assert fresh == [old, recent]
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace)
        )
        await owner_conn.execute(
            "UPDATE consumer_receipts SET processed_at = now() - interval '2 days'"
            " WHERE event_id = $1",
            old.event_id,
        )
    assert await prune_receipts(db=db, older_than_s=86_400) == 1
    async with db.session(workspace) as session:
        again = await first_deliveries(
            session=session, group="probe", workspace_id=workspace, events=[old, recent]
        )
    # The forgotten one counts as new again; the recent one is still a repeat.
    assert again == [old]
