"""The live map: subscriptions over graphql-transport-ws and /ws/tracking, per workspace,
across two app processes, deviations with hysteresis, and slow subscribers dropped."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import httpx
import pytest
from broadcaster import Broadcast
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from core.cache import MemoryCache
from core.fanout import Hub, SubscriberTooSlow
from core.principal import Principal
from models.routing_inputs import OptimizeRequest
from rest import tracking_ws
from services.routing import optimization
from tests.conftest import TEST_REDIS_URL, DatabaseUnderTest
from tests.graphql_ws import connection, subscribe
from tests.helpers import Session, login, register
from tests.routing_helpers import DEPOT, city, make_vehicle, route_body
from tests.served_app import served_app

MOVED = (
    "subscription($ids: [UUID!]) { vehicleMoved(vehicleIds: $ids) { vehicleId position speed } }"
)


@asynccontextmanager
async def subscription(
    app: Starlette, who: Session, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[Any]:
    async with connection(app, who) as ws:
        await subscribe(ws, "1", query, variables or {})
        await asyncio.sleep(0.3)  # let the subscription reach the hub before anything is posted
        yield ws


async def post(
    client: httpx.AsyncClient, who: Session, vehicle: str, lng: float, lat: float, **extra: Any
) -> httpx.Response:
    body = {"vehicle_id": vehicle, "lng": lng, "lat": lat, **extra}
    response = await client.post("/api/v1/tracking/update", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response


async def test_vehicle_moved_reaches_its_workspace_only(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    a = await register(client)
    b = await register(client)
    van_a = await make_vehicle(client, a, "LIVE-A")
    van_b = await make_vehicle(client, b, "LIVE-B")
    async with subscription(app, a, MOVED) as ws_a, subscription(app, b, MOVED) as ws_b:
        await post(client, a, van_a, 77.59, 12.97, speed=42.5)
        message = await ws_a.receive_json(timeout=10)
        assert message["type"] == "next"
        moved = message["payload"]["data"]["vehicleMoved"]
        assert moved == {"vehicleId": van_a, "position": [77.59, 12.97], "speed": 42.5}
        with pytest.raises(TimeoutError):
            await ws_b.receive_json(timeout=1)
        await post(client, b, van_b, 77.60, 12.98)
        assert (await ws_b.receive_json(timeout=10))["payload"]["data"]["vehicleMoved"][
            "vehicleId"
        ] == van_b
    async with subscription(app, a, MOVED, {"ids": [str(uuid.uuid4())]}) as filtered:
        await post(client, a, van_a, 77.61, 12.99)
        with pytest.raises(TimeoutError):
            await filtered.receive_json(timeout=1)


async def test_dashboard_socket_sends_one_message_per_frame_or_one_array_per_flush(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    vans = [await make_vehicle(client, admin, f"DASH-{n}") for n in range(3)]
    token = admin.access_token
    async with (
        httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url="http://t") as ws,
        aconnect_ws(f"/ws/tracking?token={token}", ws) as single,
        aconnect_ws(f"/ws/tracking?token={token}&batch=true", ws) as batched,
    ):
        await asyncio.sleep(0.3)
        positions = [
            {"vehicle_id": van, "lng": 77.5 + n / 100, "lat": 12.9} for n, van in enumerate(vans)
        ]
        posted = await client.post(
            "/api/v1/tracking/batch", json={"positions": positions}, headers=admin.headers
        )
        assert posted.status_code == 201, posted.text
        frame = json.loads(await batched.receive_text(timeout=10))
        assert isinstance(frame, list)
        assert {m["vehicle_id"] for m in frame} == set(vans)
        assert {m["type"] for m in frame} == {"vehicle_moved"}
        one_by_one = [json.loads(await single.receive_text(timeout=10)) for _ in vans]
        assert all(isinstance(m, dict) for m in one_by_one)
        assert sorted(m["position"][0] for m in one_by_one) == [77.5, 77.51, 77.52]


async def test_a_socket_is_closed_once_its_session_ends(
    app: Starlette, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A logged-out phone or dashboard loses its open socket; another device keeps its own."""
    monkeypatch.setattr(tracking_ws, "SESSION_CHECK_S", 0.2)
    admin = await register(client)
    van = await make_vehicle(client, admin, "WS-END")
    other_device = Session.of((await login(client, admin.email)).json()["data"])
    async with (
        httpx.AsyncClient(transport=ASGIWebSocketTransport(app=app), base_url="http://t") as ws,
        aconnect_ws(f"/ws/tracking?token={admin.access_token}", ws) as ended,
        aconnect_ws(f"/ws/tracking?token={other_device.access_token}", ws) as kept,
    ):
        await asyncio.sleep(0.5)  # a few checks pass while the session stands
        assert (await client.post("/api/v1/auth/logout", headers=admin.headers)).status_code == 200
        with pytest.raises(WebSocketDisconnect) as closed:
            await ended.receive_text(timeout=5)
        assert (closed.value.code, closed.value.reason) == (1008, "session ended")
        await kept.send_json(
            {"type": "position_update", "vehicle_id": van, "lat": 12.9, "lng": 77.6}
        )
        messages = [json.loads(await kept.receive_text(timeout=10)) for _ in range(2)]
        assert {m["type"] for m in messages} == {"ack", "vehicle_moved"}


async def test_a_position_posted_to_another_process_reaches_this_one(
    app: Starlette, client: httpx.AsyncClient, database: DatabaseUnderTest
) -> None:
    async with served_app(database.owner_url, TEST_REDIS_URL) as other:
        admin = await register(client)
        van = await make_vehicle(client, admin, "TWO-PROC")
        async with subscription(app, admin, MOVED) as ws:
            await post(other.http, admin, van, 77.55, 12.95)
            message = await ws.receive_json(timeout=10)
        assert message["payload"]["data"]["vehicleMoved"]["position"] == [77.55, 12.95]


async def _deployed_route(
    app: Starlette, client: httpx.AsyncClient, admin: Session
) -> tuple[str, str]:
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "DEV-1")
    created = await client.post(
        "/api/v1/routes", json=route_body(depot, customers[:4], van), headers=admin.headers
    )
    route_id = uuid.UUID(created.json()["data"]["id"])
    actor = Principal(uuid.UUID(admin.user_id), uuid.UUID(admin.workspace_id), None, "admin")

    class NoQueue:
        async def enqueue_optimization(self, job_id: uuid.UUID, workspace_id: uuid.UUID) -> None:
            return None

    class Silent:
        async def publish(self, job_id: uuid.UUID, message: dict[str, object]) -> None:
            return None

    async with app.state.db.session(actor.workspace_id) as session:
        ticket = await optimization.request_optimization(
            session=session,
            actor=actor,
            route_id=route_id,
            data=OptimizeRequest(),
            cache=MemoryCache(),
            queue=NoQueue(),
        )
    await optimization.run_job(
        db=app.state.db,
        cache=MemoryCache(),
        channel=Silent(),
        job_id=ticket.job.id,
        workspace_id=actor.workspace_id,
    )
    assert (
        await client.post(f"/api/v1/routes/{route_id}/deploy", headers=admin.headers)
    ).status_code == 200
    return str(route_id), van


async def test_deviation_is_raised_once_escalated_and_cleared(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    route_id, van = await _deployed_route(app, client, admin)
    lng, lat = DEPOT
    transport = ASGIWebSocketTransport(app=app)
    alerts: list[dict[str, Any]] = []

    async def deviations() -> list[dict[str, Any]]:
        return (await client.get("/api/v1/tracking/deviations", headers=admin.headers)).json()[
            "data"
        ]

    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as ws_client,
        aconnect_ws(f"/ws/tracking?token={admin.access_token}", ws_client) as dashboard,
    ):
        await asyncio.sleep(0.3)
        t0 = time.time() - 600

        def stamp(n: int) -> str:
            return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(t0 + n * 10))

        await post(client, admin, van, lng, lat, recorded_at=stamp(1))  # at the depot: on the route
        await post(client, admin, van, lng, lat + 0.007, recorded_at=stamp(2))  # ~780 m off, once
        await asyncio.sleep(0.3)
        assert await deviations() == []
        await post(client, admin, van, lng, lat + 0.0072, recorded_at=stamp(3))  # twice: raised
        await asyncio.sleep(0.3)
        active = await deviations()
        assert len(active) == 1
        assert active[0]["severity"] == "warning"
        assert active[0]["route_id"] == route_id
        assert 500 < active[0]["distance_from_route_m"] < 1500
        await post(
            client, admin, van, lng, lat + 0.0074, recorded_at=stamp(4)
        )  # still off: no new one
        await post(client, admin, van, lng, lat + 0.03, recorded_at=stamp(5))  # > 3x: critical
        await asyncio.sleep(0.3)
        active = await deviations()
        assert [d["severity"] for d in active] == ["critical"]
        await post(client, admin, van, lng, lat, recorded_at=stamp(6))  # back on the route
        await asyncio.sleep(0.3)
        assert await deviations() == []
        while True:
            try:
                message = json.loads(await dashboard.receive_text(timeout=1))
            except TimeoutError:
                break
            if message["type"] == "route_deviation":
                alerts.append(message)
    assert [(a["state"], a["severity"]) for a in alerts] == [
        ("raised", "warning"),
        ("escalated", "critical"),
        ("cleared", "critical"),
    ]
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        events = await owner_conn.fetchval(
            "SELECT count(*) FROM analytics_events WHERE event_type = 'vehicle.route_deviated'"
        )
        status = await owner_conn.fetchval(
            "SELECT status::text FROM routes WHERE id = $1", uuid.UUID(route_id)
        )
    assert events == 3
    assert status == "in_progress"


async def test_no_deviation_for_a_vehicle_without_a_route(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    van = await make_vehicle(client, admin, "FREE-1")
    for step in range(3):
        await post(client, admin, van, 77.0 + step, 12.0)
    await asyncio.sleep(0.3)
    assert (await client.get("/api/v1/tracking/deviations", headers=admin.headers)).json()[
        "data"
    ] == []


async def test_arriving_at_the_next_stop_completes_it_and_shifts_etas(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    route_id, van = await _deployed_route(app, client, admin)
    route = (await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)).json()["data"]
    first, second = route["stops"][0], route["stops"][1]
    lng, lat = first["geo"]["coordinates"]
    await post(client, admin, van, lng + 0.0003, lat)  # ~30 m away: arrived
    await asyncio.sleep(0.3)
    after = (await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)).json()["data"]
    assert after["status"] == "in_progress"
    assert after["stops"][0]["completed"] is True
    assert after["stops"][1]["completed"] is False
    # The ETAs of the rest moved by the same delay (planned start is in 2030: now is early).
    assert after["stops"][1]["arrival_eta"] < second["arrival_eta"]


async def test_a_slow_subscriber_is_dropped_without_holding_up_the_others() -> None:
    broadcast = Broadcast("memory://")
    await broadcast.connect()
    hub = Hub(broadcast, queue_size=3)
    try:
        async with hub.subscribe("c") as slow, hub.subscribe("c") as fast:
            received: list[str] = []

            async def read_fast() -> None:
                async for message in fast:
                    received.append(message)
                    if len(received) == 20:
                        return

            reader = asyncio.create_task(read_fast())
            for n in range(20):
                await hub.publish("c", str(n))
                await asyncio.sleep(0.01)
            await asyncio.wait_for(reader, 5)
            assert received == [str(n) for n in range(20)]
            assert slow.dropped
            with pytest.raises(SubscriberTooSlow):
                async for _ in slow:
                    pass
    finally:
        await broadcast.disconnect()


async def test_batched_frames_merge_what_was_published_in_between() -> None:
    broadcast = Broadcast("memory://")
    await broadcast.connect()
    hub = Hub(broadcast, frame_interval_s=0.3)
    try:
        async with (
            hub.subscribe("c", batched=True) as dashboard,
            hub.subscribe("c") as single,
        ):
            frames = dashboard.frames()
            await hub.publish("c", [{"n": 0}, {"n": 1}])
            await hub.publish("c", {"n": 2})
            await hub.publish("c", [])
            first = json.loads(await asyncio.wait_for(anext(frames), 5))
            await hub.publish("c", [{"n": 3}])
            second = json.loads(await asyncio.wait_for(anext(frames), 5))
            one_by_one = [await asyncio.wait_for(anext(aiter(single)), 5) for _ in range(4)]
        # Published within one frame interval: one frame, in order; a single subscriber
        # meanwhile had each message on its own.
        assert first == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert second == [{"n": 3}]
        assert one_by_one == [{"n": 0}, {"n": 1}, {"n": 2}, {"n": 3}]
    finally:
        await broadcast.disconnect()


async def test_graphql_report_position_and_route_deviation_subscription(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from tests.helpers import ERR, error_code, gql

    admin = await register(client)
    route_id, van = await _deployed_route(app, client, admin)
    lng, lat = DEPOT
    report = (
        "mutation($p: PositionInput!) { reportPosition(input: $p) {"
        f" ... on PositionAck {{ vehicleId duplicate }} {ERR} }} }}"
    )
    bad = await gql(
        client, report, {"p": {"vehicleId": van, "lat": 0.0, "lng": 0.0}}, session=admin
    )
    assert error_code(bad) == "VALIDATION_ERROR"
    deviation = (
        "subscription { routeDeviation { vehicleId routeId severity state distanceFromRouteM } }"
    )
    async with subscription(app, admin, deviation) as ws:
        for step in (1, 2):
            ack = await gql(
                client,
                report,
                {"p": {"vehicleId": van, "lat": lat + 0.007 + step / 10000, "lng": lng}},
                session=admin,
            )
            assert ack["data"]["reportPosition"] == {"vehicleId": van, "duplicate": False}
        alert = (await ws.receive_json(timeout=10))["payload"]["data"]["routeDeviation"]
    assert alert["state"] == "raised"
    assert alert["routeId"] == route_id
    assert alert["severity"] == "warning"
    listed = await gql(client, "{ routeDeviations { vehicleId severity } }", session=admin)
    assert listed["data"]["routeDeviations"] == [{"vehicleId": van, "severity": "warning"}]
