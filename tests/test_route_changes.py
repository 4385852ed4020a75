"""`routeChanged`: routes created, edited and deleted through the API reach the workspace's
subscribers once their events are relayed and the `realtime` consumer group (the events
process) forwards them; one route's subscribers get only its changes, another workspace's
none, and identical subscribers share one execution."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.conftest import DatabaseUnderTest
from tests.events_helpers import events_process, eventually
from tests.graphql_ws import connection, subscribe
from tests.helpers import member, register
from tests.routing_helpers import city, route_body

pytestmark = pytest.mark.slow

CHANGED = "subscription ($id: UUID) { routeChanged(routeId: $id) { routeId change vehicleId eventId at } }"


async def collect(ws: Any, op_id: str, until: int, within_s: float = 30) -> list[dict[str, Any]]:
    """The routeChanged results for `op_id` until `until` have come, then 1.5 s more."""
    got: list[dict[str, Any]] = []
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_s
    while True:
        quiet = 1.5 if len(got) >= until else max(0.1, deadline - loop.time())
        try:
            message = await ws.receive_json(timeout=quiet)
        except TimeoutError:
            return got
        assert message["id"] == op_id and message["type"] == "next", message
        got.append(message["payload"]["data"]["routeChanged"])


async def test_route_changes_reach_the_workspace_subscribers_once_committed(
    app: Starlette, client: httpx.AsyncClient, database: DatabaseUnderTest
) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    stranger = await register(client)
    depot, customers = await city(client, admin)
    h = admin.headers
    async with AsyncExitStack() as stack:
        everything = [await stack.enter_async_context(connection(app, admin)) for _ in range(2)]
        watcher = await stack.enter_async_context(connection(app, viewer))
        elsewhere = await stack.enter_async_context(connection(app, stranger))
        for n, ws in enumerate(everything):
            await subscribe(ws, f"all-{n}", CHANGED, {})
        await subscribe(elsewhere, "x", CHANGED, {})
        await stack.enter_async_context(events_process(database, "--groups", "realtime"))

        body = route_body(depot, customers, None)
        first = await client.post("/api/v1/routes", json=body, headers=h)
        assert first.status_code == 201, first.text
        route = first.json()["data"]["id"]
        created = [await collect(ws, f"all-{n}", until=1) for n, ws in enumerate(everything)]
        assert created[0] == created[1]
        assert [(c["routeId"], c["change"]) for c in created[0]] == [(route, "CREATED")]
        assert created[0][0]["vehicleId"] is None and created[0][0]["at"]

        # A viewer following that one route; identical subscribers share one execution.
        await subscribe(watcher, "one", CHANGED, {"id": route})

        async def shared_executions() -> int:
            return len(app.state.subscriptions)

        assert await eventually(shared_executions, lambda n: n == 3, timeout_s=10) == 3
        renamed = await client.patch(f"/api/v1/routes/{route}", json={"name": "Late"}, headers=h)
        assert renamed.status_code == 200, renamed.text
        second = await client.post(
            "/api/v1/routes", json=route_body(depot, customers[:2], None), headers=h
        )
        other = second.json()["data"]["id"]
        assert (await client.delete(f"/api/v1/routes/{route}", headers=h)).status_code == 200
        refused = await client.patch(f"/api/v1/routes/{other}", json={"stops": []}, headers=h)
        assert refused.status_code == 422  # a refused change announces nothing

        expected = sorted([(route, "UPDATED"), (other, "CREATED"), (route, "DELETED")])
        seen = []
        for n, ws in enumerate(everything):
            changes = await collect(ws, f"all-{n}", until=3)
            # Each kind of change has its own stream: no order between kinds is promised.
            assert sorted((c["routeId"], c["change"]) for c in changes) == expected
            seen.append(changes)
        assert seen[0] == seen[1]
        assert len({c["eventId"] for c in seen[0] + created[0]}) == 4
        mine = await collect(watcher, "one", until=2)
        assert sorted(c["change"] for c in mine) == ["DELETED", "UPDATED"]
        assert {c["routeId"] for c in mine} == {route}
        assert await collect(elsewhere, "x", until=1, within_s=1) == []
