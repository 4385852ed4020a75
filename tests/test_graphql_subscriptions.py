"""GraphQL subscriptions at dashboard scale: subscribers that asked the same thing share one
execution yet each gets exactly what its own filters let through, in order, with its own
operation id; unsubscribing stops one without the others; a connection whose session ended
is closed with 4403."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect
from starlette.applications import Starlette

from schema.sharing import SharedTransportWSHandler
from tests.graphql_ws import connection, subscribe
from tests.helpers import Session, register
from tests.routing_helpers import make_vehicle

MOVED = (
    "subscription($ids: [UUID!], $bbox: BoundingBoxInput) {"
    " vehicleMoved(vehicleIds: $ids, bbox: $bbox) { vehicleId position } }"
)
FLEET = (
    "subscription($ids: [UUID!], $bbox: BoundingBoxInput) {"
    " fleetMoved(vehicleIds: $ids, bbox: $bbox) { vehicleId position } }"
)
WEST = {"minLng": 77.0, "minLat": 12.0, "maxLng": 77.55, "maxLat": 13.5}


async def drain(ws: AsyncWebSocketSession, quiet_s: float = 1.5) -> list[dict[str, Any]]:
    """Every message until none has come for `quiet_s`."""
    messages = []
    while True:
        try:
            messages.append(await ws.receive_json(timeout=quiet_s))
        except TimeoutError:
            return messages


def moves(messages: list[dict[str, Any]], op_id: str) -> list[tuple[str, float]]:
    """(vehicle, longitude) of each move delivered to `op_id`, frames flattened, in order."""
    out = []
    for message in messages:
        assert message["id"] == op_id, message
        assert message["type"] == "next", message
        data = message["payload"]["data"]
        items = data["fleetMoved"] if "fleetMoved" in data else [data["vehicleMoved"]]
        out.extend((m["vehicleId"], m["position"][0]) for m in items)
    return out


async def test_subscribers_with_different_filters_get_exactly_their_own_moves(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    other = await register(client)
    vans = [await make_vehicle(client, admin, f"SHARE-{n}") for n in range(3)]
    stranger_van = await make_vehicle(client, other, "SHARE-X")
    # (query, variables, copies): identical subscribers share one execution.
    wanted: list[tuple[str, dict[str, Any], int, Callable[[str, float], bool]]] = [
        (MOVED, {}, 4, lambda v, lng: True),
        (MOVED, {"ids": [vans[0]]}, 3, lambda v, lng: v == vans[0]),
        (MOVED, {"ids": [vans[1], vans[2]]}, 2, lambda v, lng: v in vans[1:]),
        (MOVED, {"bbox": WEST}, 2, lambda v, lng: lng <= 77.55),
        (FLEET, {}, 3, lambda v, lng: True),
        (FLEET, {"ids": [vans[2]], "bbox": WEST}, 2, lambda v, lng: v == vans[2] and lng <= 77.55),
    ]
    async with AsyncExitStack() as stack:
        subscribers = []
        for n, (query, variables, copies, keep) in enumerate(wanted):
            for copy in range(copies):
                ws = await stack.enter_async_context(connection(app, admin))
                op_id = f"op-{n}-{copy}"
                await subscribe(ws, op_id, query, variables)
                subscribers.append((ws, op_id, keep))
        stranger = await stack.enter_async_context(connection(app, other))
        await subscribe(stranger, "s", MOVED, {})
        await asyncio.sleep(0.5)
        # Six subscriptions asked, one more in the other workspace: seven executions for 17.
        assert len(app.state.subscriptions) == 7
        sent: list[tuple[str, float]] = []
        for step in range(4):
            positions = [
                {"vehicle_id": van, "lng": 77.5 + step / 50 + n / 1000, "lat": 12.9}
                for n, van in enumerate(vans)
            ]
            posted = await client.post(
                "/api/v1/tracking/batch", json={"positions": positions}, headers=admin.headers
            )
            assert posted.status_code == 201, posted.text
            sent.extend((p["vehicle_id"], p["lng"]) for p in positions)
        await client.post(
            "/api/v1/tracking/update",
            json={"vehicle_id": stranger_van, "lng": 77.5, "lat": 12.9},
            headers=other.headers,
        )
        received = await asyncio.gather(*(drain(ws) for ws, _, _ in subscribers))
        for (_, op_id, keep), messages in zip(subscribers, received, strict=True):
            expected = [(v, lng) for v, lng in sent if keep(v, lng)]
            got = moves(messages, op_id)
            assert sorted(got) == sorted(expected), op_id
            for van in vans:  # each vehicle's moves in the order they were made
                assert [m for m in got if m[0] == van] == [m for m in expected if m[0] == van]
        assert moves(await drain(stranger), "s") == [(stranger_van, 77.5)]


async def test_unsubscribing_stops_one_subscriber_and_the_last_one_stops_the_execution(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    van = await make_vehicle(client, admin, "LEAVE")
    registry = app.state.subscriptions
    async with connection(app, admin) as one, connection(app, admin) as two:
        await subscribe(one, "a", MOVED, {})
        await subscribe(two, "b", MOVED, {})
        # Two operations of one connection are two subscribers too.
        await subscribe(two, "c", MOVED, {})
        await asyncio.sleep(0.3)
        assert len(registry) == 1
        await two.send_json({"id": "b", "type": "complete"})
        await asyncio.sleep(0.2)
        body = {"vehicle_id": van, "lng": 77.6, "lat": 12.9}
        posted = await client.post("/api/v1/tracking/update", json=body, headers=admin.headers)
        assert posted.status_code == 201
        assert [m["id"] for m in await drain(one)] == ["a"]
        assert [m["id"] for m in await drain(two)] == ["c"]
        await one.send_json({"id": "a", "type": "complete"})
        await two.send_json({"id": "c", "type": "complete"})
        await asyncio.sleep(0.3)
        assert len(registry) == 0
        # The operation ids are free again, and a new subscription starts a new execution.
        await subscribe(one, "a", MOVED, {"ids": [van]})
        await asyncio.sleep(0.3)
        await client.post(
            "/api/v1/tracking/update", json=body | {"lng": 77.7}, headers=admin.headers
        )
        assert moves(await drain(one), "a") == [(van, 77.7)]


async def test_a_finished_job_completes_every_subscriber_and_a_late_one_gets_its_state(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """optimizationProgress answers with the job's state first: a subscriber that joins a
    running execution gets the latest state rather than nothing."""
    admin = await register(client)
    query = "subscription($id: UUID!) { optimizationProgress(jobId: $id) { status } }"
    unknown = {"id": "00000000-0000-4000-8000-000000000000"}
    async with connection(app, admin) as ws:
        await subscribe(ws, "j", query, unknown)
        messages = await drain(ws, 3)
    assert messages[0]["type"] == "next"
    assert messages[0]["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert messages[-1] == {"id": "j", "type": "complete"}
    assert len(app.state.subscriptions) == 0


async def _logout(client: httpx.AsyncClient, admin: Session, conn: asyncpg.Connection) -> None:
    assert (await client.post("/api/v1/auth/logout", headers=admin.headers)).status_code == 200


async def _delete_workspace(
    client: httpx.AsyncClient, admin: Session, conn: asyncpg.Connection
) -> None:
    deleted = await client.delete(f"/api/v1/workspaces/{admin.workspace_id}", headers=admin.headers)
    assert deleted.status_code == 200, deleted.text


async def _suspend(client: httpx.AsyncClient, admin: Session, conn: asyncpg.Connection) -> None:
    await conn.execute(
        "SELECT set_config('app.current_workspace_id', $1, false)", admin.workspace_id
    )
    await conn.execute("UPDATE users SET status = 'suspended' WHERE id = $1::uuid", admin.user_id)


@pytest.mark.parametrize(
    "end", [_logout, _suspend, _delete_workspace], ids=["logout", "suspended", "workspace-deleted"]
)
async def test_a_subscription_is_closed_once_its_session_ends(
    end: Callable[[httpx.AsyncClient, Session, asyncpg.Connection], Awaitable[None]],
    app: Starlette,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(SharedTransportWSHandler, "session_check_s", 0.2)
    admin = await register(client)
    async with connection(app, admin) as ws:
        await subscribe(ws, "1", MOVED, {})
        await asyncio.sleep(0.5)  # a few checks pass while the session stands
        await end(client, admin, owner_conn)
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text(timeout=5)
    assert (closed.value.code, closed.value.reason) == (4403, "session ended")
    await asyncio.sleep(0.2)
    assert len(app.state.subscriptions) == 0
