"""Events reach their stream only when the change commits (through the outbox and its relay);
audit rows carry the request."""

from __future__ import annotations

import json
import uuid

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from core.context import RequestInfo, request_info
from core.db import Database, create_engine
from core.events import InMemoryBus, RedisStreamBus
from core.principal import Principal
from services.audit import REDACTED, record_audit
from services.events import emit
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.events_helpers import relay_all


@pytest.fixture
async def db(database: DatabaseUnderTest, redis: Redis) -> Database:
    engine = create_engine(database.settings)
    yield Database(engine, RedisStreamBus(redis))
    await engine.dispose()


def _actor() -> Principal:
    return Principal(uuid.uuid4(), uuid.uuid4(), None, "operator")


async def test_committed_event_is_published_in_the_spec_envelope(
    db: Database, redis: Redis, owner_conn: asyncpg.Connection
) -> None:
    actor = _actor()
    route_id = uuid.uuid4()
    async with db.session(actor.workspace_id) as session:
        emit(
            session=session,
            actor=actor,
            event_type="route.created",
            entity_type="route",
            entity_id=route_id,
            data={"name": "Morning run"},
        )
        # Nothing is on the stream while the transaction is open.
        assert await redis.xlen("events:route.created") == 0
    # Committed, it waits in the outbox for the relay.
    assert await redis.xlen("events:route.created") == 0
    assert await relay_all(db) == 1
    entries = await redis.xrange("events:route.created")
    assert len(entries) == 1
    envelope = json.loads(entries[0][1][b"event"])
    assert set(envelope) == {
        "event_id",
        "event_type",
        "workspace_id",
        "actor_id",
        "timestamp",
        "data",
        "version",
    }
    assert envelope["workspace_id"] == str(actor.workspace_id)
    assert envelope["actor_id"] == str(actor.user_id)
    # The data names the entity the event is about.
    assert envelope["data"] == {"name": "Morning run", "route_id": str(route_id)}
    assert envelope["version"] == 1
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(actor.workspace_id)
        )
        stored = await owner_conn.fetch("SELECT id, event_type FROM analytics_events")
    assert [(str(r["id"]), r["event_type"]) for r in stored] == [
        (envelope["event_id"], "route.created")
    ]


async def test_rolled_back_change_emits_nothing(db: Database, redis: Redis) -> None:
    actor = _actor()
    with pytest.raises(RuntimeError):
        async with db.session(actor.workspace_id) as session:
            emit(
                session=session,
                actor=actor,
                event_type="route.deployed",
                entity_type="route",
                entity_id=None,
                data={},
            )
            raise RuntimeError("the change failed")
    assert await relay_all(db) == 0
    assert await redis.xlen("events:route.deployed") == 0


async def test_in_memory_bus_keeps_events_for_single_process_mode() -> None:
    bus = InMemoryBus(maxlen=2)
    actor = _actor()
    from core.events import Event

    for n in range(3):
        await bus.publish(Event("vehicle.updated", actor.workspace_id, None, {"n": n}))
    assert [e.data["n"] for e in await bus.read("vehicle.updated")] == [1, 2]


async def test_audit_row_records_actor_request_and_redacted_diff(
    db: Database, owner_conn: asyncpg.Connection
) -> None:
    actor = _actor()
    resource = uuid.uuid4()
    token = request_info.set(RequestInfo("req-1", "198.51.100.4", "FleetApp/2.1"))
    try:
        async with db.session(actor.workspace_id) as session:
            await record_audit(
                session=session,
                actor=actor,
                action="user.updated",
                resource_type="user",
                resource_id=resource,
                changes={
                    "name": {"from": "A", "to": "B"},
                    "full_name": {"from": "Ada", "to": "Bea"},
                    "password_hash": "argon2...",
                },
            )
    finally:
        request_info.reset(token)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(actor.workspace_id)
        )
        row = await owner_conn.fetchrow("SELECT * FROM audit_logs")
    assert row["user_id"] == actor.user_id
    assert row["resource_id"] == resource
    assert str(row["ip_address"]) == "198.51.100.4"
    assert row["user_agent"] == "FleetApp/2.1"
    changes = json.loads(row["changes"])
    assert changes["password_hash"] == REDACTED
    assert changes["name"] == {"from": "A", "to": "B"}
    # Personal data is encrypted where it lives; the trail says it changed, not what it is.
    assert changes["full_name"] == REDACTED


async def test_audit_log_is_append_only_for_the_app(
    db: Database, app_conn: asyncpg.Connection
) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("DELETE FROM audit_logs")
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("UPDATE audit_logs SET action = 'x'")


async def test_metrics_report_the_outbox_lag_until_a_relay_publishes(
    database: DatabaseUnderTest, redis: Redis
) -> None:
    app, lifespan = await start_app(settings_for(database.name, event_relay_in_api=False))
    try:
        actor = _actor()
        async with app.state.db.session(actor.workspace_id) as session:
            for n in range(3):
                emit(
                    session=session,
                    actor=actor,
                    event_type="route.created",
                    entity_type="route",
                    entity_id=None,
                    data={"n": n},
                )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            waiting = _gauges((await client.get("/metrics")).text)
            assert waiting["omniroute_outbox_backlog"] == 3
            assert waiting["omniroute_outbox_lag_seconds"] > 0
            assert await relay_all(app.state.db) == 3
            drained = _gauges((await client.get("/metrics")).text)
            assert drained["omniroute_outbox_backlog"] == 0
            assert drained["omniroute_outbox_lag_seconds"] == 0
        assert await redis.xlen("events:route.created") == 3
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


def _gauges(text: str) -> dict[str, float]:
    values = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name.startswith("omniroute_outbox_"):
            values[name] = float(value)
    return values
