"""Routing over GraphQL: create, optimize, follow progress over graphql-transport-ws,
deploy and complete; nested stops, paths and vehicles load in a constant number of queries."""

from __future__ import annotations

import json
from typing import Any

import httpx
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from tests.helpers import ERR, Session, error_code, gql, member, register
from tests.routing_helpers import city, make_vehicle, worker

__all__ = ["worker"]

CREATE = (
    "mutation($input: RouteInput!) { createRoute(input: $input) {"
    f" ... on Route {{ id status stops {{ stopOrder location {{ name }} }} }} {ERR} }} }}"
)
OPTIMIZE = (
    "mutation($id: UUID!) { optimizeRoute(id: $id) {"
    f" ... on OptimizePayload {{ job {{ id status }} route {{ status }} }} {ERR} }} }}"
)
DEPLOY = f"mutation($id: UUID!) {{ deployRoute(id: $id) {{ ... on Route {{ status }} {ERR} }} }}"
PROGRESS = """subscription($job: UUID!) { optimizationProgress(jobId: $job) { jobId status bestCost elapsedS } }"""
ROUTE = """query($id: UUID!) { route(id: $id) { status distanceKm optimizationScore
  vehicle { plateNumber currentRoute { id } } stops { stopOrder arrivalEta location { name } }
  path { segmentIndex type coordinates } } }"""


async def follow(app: Starlette, session: Session, job_id: str) -> list[dict[str, Any]]:
    """Subscribe as a dashboard would and collect every message until `complete`."""
    transport = ASGIWebSocketTransport(app=app)
    received: list[dict[str, Any]] = []
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json(
            {
                "type": "connection_init",
                "payload": {"Authorization": f"Bearer {session.access_token}"},
            }
        )
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": PROGRESS, "variables": {"job": job_id}},
            }
        )
        while True:
            message = await ws.receive_json(timeout=60)
            if message["type"] == "complete":
                break
            received.append(message)
            if message["type"] == "error":
                break
    return received


async def test_optimize_and_follow_progress_over_websocket(
    app: Starlette, client: httpx.AsyncClient, worker: object
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "GQL-RT")
    created = await gql(
        client,
        CREATE,
        {
            "input": {
                "vehicleId": van,
                "depotLocationId": depot,
                "plannedStart": "2030-03-01T08:00:00+00:00",
                "stops": [
                    {"locationId": c, "loadKg": 20, "serviceTimeMinutes": 3} for c in customers
                ],
            }
        },
        session=admin,
    )
    route = created["data"]["createRoute"]
    assert route["status"] == "DRAFT"
    assert [s["stopOrder"] for s in route["stops"]] == list(range(1, len(customers) + 1))
    started = await gql(client, OPTIMIZE, {"id": route["id"]}, session=admin)
    job = started["data"]["optimizeRoute"]["job"]
    assert job["status"] == "PENDING"
    assert started["data"]["optimizeRoute"]["route"]["status"] == "OPTIMIZING"

    messages = await follow(app, admin, job["id"])
    assert all(m["type"] == "next" for m in messages), messages
    statuses = [m["payload"]["data"]["optimizationProgress"]["status"] for m in messages]
    assert statuses[-1] == "COMPLETED"
    assert set(statuses) <= {"PENDING", "RUNNING", "COMPLETED"}

    detail = (await gql(client, ROUTE, {"id": route["id"]}, session=admin))["data"]["route"]
    assert detail["status"] == "OPTIMIZED"
    assert len(detail["path"]) == len(customers) + 1
    assert detail["path"][0]["coordinates"][0] == [77.5187, 13.0285]
    etas = [s["arrivalEta"] for s in detail["stops"]]
    assert etas == sorted(etas)
    deployed = await gql(client, DEPLOY, {"id": route["id"]}, session=admin)
    assert deployed["data"]["deployRoute"]["status"] == "DEPLOYED"
    again = (await gql(client, ROUTE, {"id": route["id"]}, session=admin))["data"]["route"]
    assert again["vehicle"]["currentRoute"]["id"] == route["id"]
    twice = await gql(client, DEPLOY, {"id": route["id"]}, session=admin)
    assert error_code(twice) == "CONFLICT"

    # The van's driver completes it; the driver of another van may not.
    driver = await member(client, admin, "driver")
    stranger = await member(client, admin, "driver")
    other_van = await make_vehicle(client, admin, "GQL-RT2")
    for who, vehicle, licence in ((driver, van, "KA-GQL"), (stranger, other_van, "KA-GQL2")):
        profile = await client.post(
            "/api/v1/drivers",
            json={"user_id": who.user_id, "license_number": licence, "vehicle_id": vehicle},
            headers=admin.headers,
        )
        assert profile.status_code == 201, profile.text
    complete = f"""mutation {{ completeRoute(id: "{route["id"]}") {{ ... on Route {{
        status completedAt actualDurationMinutes vehicle {{ status currentRoute {{ id }} }} }}
        {ERR} }} }}"""
    assert error_code(await gql(client, complete, session=stranger)) == "FORBIDDEN"
    done = (await gql(client, complete, session=driver))["data"]["completeRoute"]
    assert done["status"] == "COMPLETED"
    assert done["completedAt"] is not None and done["actualDurationMinutes"] is not None
    assert done["vehicle"] == {"status": "AVAILABLE", "currentRoute": None}


async def test_subscription_refuses_strangers(app: Starlette, client: httpx.AsyncClient) -> None:
    admin = await register(client)
    other = await register(client)
    depot, customers = await city(client, admin)
    created = await gql(
        client,
        CREATE,
        {"input": {"depotLocationId": depot, "stops": [{"locationId": customers[0]}]}},
        session=admin,
    )
    started = await gql(
        client, OPTIMIZE, {"id": created["data"]["createRoute"]["id"]}, session=admin
    )
    job_id = started["data"]["optimizeRoute"]["job"]["id"]
    messages = await follow(app, other, job_id)
    assert messages[0]["type"] == "error" or "errors" in messages[0]["payload"], messages
    text = json.dumps(messages)
    assert "NOT_FOUND" in text


async def test_route_lists_load_relations_in_constant_queries(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from tests.test_fleet_graphql import count_statements

    admin = await register(client)
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "LIST-1")
    counts = []
    query = """{ routes(first: 50) { totalCount edges { node { name vehicle { plateNumber driver { id } }
                 depot { name } stops { stopOrder location { name } } path { segmentIndex } } } } }"""
    for n in (2, 8):
        while (await gql(client, "{ routes { totalCount } }", session=admin))["data"]["routes"][
            "totalCount"
        ] < n:
            await gql(
                client,
                CREATE,
                {
                    "input": {
                        "vehicleId": van,
                        "depotLocationId": depot,
                        "stops": [{"locationId": c} for c in customers[:3]],
                    }
                },
                session=admin,
            )
        with count_statements(app) as statements:
            body = await gql(client, query, session=admin)
        assert body["data"]["routes"]["totalCount"] == n
        assert body["data"]["routes"]["edges"][0]["node"]["stops"][0]["location"]["name"]
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    viewer = await member(client, admin, "viewer")
    assert "errors" not in await gql(client, "{ routes { totalCount } }", session=viewer)
    denied = await gql(
        client, CREATE, {"input": {"stops": [{"locationId": customers[0]}]}}, session=viewer
    )
    assert error_code(denied) == "FORBIDDEN"
