"""What the realtime and routing consumer groups do, run as the events process runs them,
and that a second delivery of the same event changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import orjson
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from redis.asyncio import Redis
from starlette.applications import Starlette

from core.events import Event, RedisStreamBus
from services.notifications.live import forward_to_live_channel
from tests.conftest import DatabaseUnderTest
from tests.events_helpers import events_process, eventually
from tests.helpers import register
from tests.routing_helpers import city, route_body

pytestmark = pytest.mark.slow


async def test_route_deployments_reach_the_dashboards_once(
    app: Starlette, client: httpx.AsyncClient, database: DatabaseUnderTest, redis: Redis
) -> None:
    admin = await register(client)
    workspace = uuid.UUID(admin.workspace_id)
    deployed = Event("route.deployed", workspace, None, {"route_id": "r-1"})
    other = Event("route.optimize_requested", workspace, None, {"route_id": "r-1"})
    # History (a group first created on a stream holding last week's events) is not news.
    stale = Event(
        "route.deployed",
        workspace,
        None,
        {"route_id": "r-0"},
        timestamp=datetime.now(UTC) - timedelta(hours=1),
    )
    bus = RedisStreamBus(redis)
    async with (
        httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url="http://t") as ws,
        aconnect_ws(f"/ws/tracking?token={admin.access_token}", ws) as dashboard,
        events_process(database, "--groups", "realtime", "--no-relay"),
    ):
        # Published twice (a relay that died before deleting its batch): shown once.
        for event in (stale, deployed, other, deployed):
            await bus.publish(event)
        body = orjson.loads(await dashboard.receive_text(timeout=20))
        assert body["type"] == "route_deployed"
        assert body["event_id"] == str(deployed.event_id)
        assert body["data"] == {"route_id": "r-1"}
        with pytest.raises(TimeoutError):
            await dashboard.receive_text(timeout=1.5)


async def test_a_failed_quantum_job_gives_its_draft_route_a_classical_plan_once(
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    redis: Redis,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    created = await client.post(
        "/api/v1/routes", json=route_body(depot, customers[:4], None), headers=admin.headers
    )
    route_id = created.json()["data"]["id"]
    requested = await client.post(
        "/api/v1/quantum/optimize", json={"route_id": route_id}, headers=admin.headers
    )
    assert requested.status_code in (200, 201, 202), requested.text
    job_id = requested.json()["data"]["id"]

    async def jobs_of_route() -> list[asyncpg.Record]:
        async with owner_conn.transaction():
            await owner_conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
            )
            return await owner_conn.fetch(
                "SELECT id::text, solver_type::text, status::text FROM optimization_jobs"
                " WHERE route_id = $1 ORDER BY created_at",
                uuid.UUID(route_id),
            )

    # The quantum worker gave up on it, and said so.
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute(
            "UPDATE optimization_jobs SET status = 'failed' WHERE id = $1", uuid.UUID(job_id)
        )
    failed = Event(
        "quantum.job_failed",
        uuid.UUID(admin.workspace_id),
        None,
        {"job_id": job_id, "status": "failed"},
    )
    bus = RedisStreamBus(redis)
    async with events_process(database, "--groups", "routing", "--no-relay"):
        await bus.publish(failed)
        await bus.publish(failed)
        jobs = await eventually(jobs_of_route, lambda rows: len(rows) == 2)
        await asyncio.sleep(1.0)
        assert len(await jobs_of_route()) == 2
    assert jobs[0]["id"] == job_id
    fallback = jobs[1]
    assert fallback["status"] in ("pending", "running", "completed")
    route = await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)
    assert route.json()["data"]["status"] in ("optimizing", "optimized")


async def test_an_event_the_live_channel_failed_to_take_is_shown_on_its_redelivery(
    redis: Redis,
) -> None:
    workspace = uuid.uuid4()
    events = [Event("route.created", workspace, None, {"route_id": f"r-{i}"}) for i in range(3)]
    shown: list[str] = []

    async def broken(_channel: str, _message: str) -> None:
        raise ConnectionError("broadcast down")

    async def working(_channel: str, message: str) -> None:
        shown.append(orjson.loads(message)["event_id"])

    with pytest.raises(ConnectionError):
        await forward_to_live_channel(redis=redis, publish=broken, events=events)
    await forward_to_live_channel(redis=redis, publish=working, events=events)
    assert shown == [str(e.event_id) for e in events]
