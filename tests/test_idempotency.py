"""`Idempotency-Key`: a retried submit gets the first answer and does no work twice."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from tests.helpers import member, register
from tests.operations_helpers import SCENE, in_workspace
from tests.routing_helpers import city, make_vehicle, route_body

INCIDENT = {"severity": "high", "incident_type": "fire", "location": SCENE}


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


async def test_two_concurrent_submits_with_one_key_create_one_incident(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    headers = keyed(admin.headers, str(uuid.uuid4()))
    first, second = await asyncio.gather(
        client.post("/api/v1/incidents", json=INCIDENT, headers=headers),
        client.post("/api/v1/incidents", json=INCIDENT, headers=headers),
    )
    assert first.status_code == second.status_code == 201, (first.text, second.text)
    assert first.json() == second.json()
    rows = await in_workspace(owner_conn, admin.workspace_id, "SELECT id FROM incidents")
    assert [str(r["id"]) for r in rows] == [first.json()["data"]["id"]]

    later = await client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert later.status_code == 201
    assert later.json() == first.json()
    assert later.headers["idempotent-replayed"] == "true"


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    headers = keyed(admin.headers, "order-42")
    assert (
        await client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    ).status_code == 201
    other = await client.post(
        "/api/v1/incidents", json={**INCIDENT, "severity": "low"}, headers=headers
    )
    assert other.status_code == 422, other.text
    error = other.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["details"]["fields"][0]["field"] == "Idempotency-Key"
    rows = await in_workspace(owner_conn, admin.workspace_id, "SELECT id FROM incidents")
    assert len(rows) == 1


async def test_keys_belong_to_one_user_in_one_workspace(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    operator = await member(client, admin, "operator")
    stranger = await register(client, organization="Elsewhere")
    answers = [
        await client.post("/api/v1/incidents", json=INCIDENT, headers=keyed(who.headers, "k1"))
        for who in (admin, operator, stranger)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert len({a.json()["data"]["id"] for a in answers}) == 3
    rows = await in_workspace(owner_conn, admin.workspace_id, "SELECT id FROM incidents")
    assert len(rows) == 2


async def test_a_retried_optimize_returns_the_first_job_and_queues_no_other(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    vehicle = await make_vehicle(client, admin, "IDEM-1")
    created = await client.post(
        "/api/v1/routes", json=route_body(depot, customers, vehicle), headers=admin.headers
    )
    route_id = created.json()["data"]["id"]
    headers = keyed(admin.headers, "optimize-once")
    first = await client.post(f"/api/v1/routes/{route_id}/optimize", headers=headers)
    again = await client.post(f"/api/v1/routes/{route_id}/optimize", headers=headers)
    assert first.status_code == again.status_code == 202, first.text
    assert again.json()["data"]["job"]["id"] == first.json()["data"]["job"]["id"]
    jobs = await in_workspace(owner_conn, admin.workspace_id, "SELECT id FROM optimization_jobs")
    assert len(jobs) == 1


async def test_a_refused_submit_is_replayed_too_and_an_overlong_key_refused(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    headers = keyed(admin.headers, "batch-1")
    bad = {"positions": [{"vehicle_id": str(uuid.uuid4()), "lat": 200, "lng": 0}]}
    refused = await client.post("/api/v1/tracking/batch", json=bad, headers=headers)
    assert refused.status_code == 422
    replay = await client.post("/api/v1/tracking/batch", json=bad, headers=headers)
    assert replay.status_code == 422 and replay.headers["idempotent-replayed"] == "true"
    too_long = await client.post(
        "/api/v1/tracking/batch", json=bad, headers=keyed(admin.headers, "x" * 256)
    )
    assert too_long.status_code == 422
    assert too_long.json()["error"]["details"]["fields"][0]["field"] == "Idempotency-Key"


async def test_a_forbidden_submit_is_not_kept_so_a_role_granted_since_lets_the_retry_through(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    headers = keyed(viewer.headers, "report-1")
    refused = await client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert refused.status_code == 403
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute(
            "UPDATE users SET role = 'responder' WHERE id = $1", uuid.UUID(viewer.user_id)
        )
    retried = await client.post("/api/v1/incidents", json=INCIDENT, headers=headers)
    assert retried.status_code == 201, retried.text
    assert "idempotent-replayed" not in retried.headers
