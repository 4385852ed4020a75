"""The envelope, request ids, error mapping and metrics, on both surfaces."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx

from services.health import code_head_revision
from tests.helpers import register


async def test_unknown_path_is_404_in_the_envelope_with_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == "NOT_FOUND"
    assert body["meta"]["request_id"] == response.headers["x-request-id"]
    assert body["meta"]["timestamp"].endswith("Z")


async def test_client_request_id_is_echoed_and_garbage_is_replaced(
    client: httpx.AsyncClient,
) -> None:
    echoed = await client.get("/api/v1/", headers={"X-Request-ID": "trace-abc.123"})
    assert echoed.headers["x-request-id"] == "trace-abc.123"
    assert echoed.json()["meta"]["request_id"] == "trace-abc.123"
    replaced = await client.get("/api/v1/", headers={"X-Request-ID": "bad id\twith junk"})
    made = [
        replaced.headers["x-request-id"],
        (await client.get("/api/v1/")).headers["x-request-id"],
    ]
    # Ours are random (version 4) UUIDs in their canonical text, never the same twice.
    assert all(str(uuid.UUID(m)) == m and uuid.UUID(m).version == 4 for m in made)
    assert made[0] != made[1]


async def test_success_envelope(client: httpx.AsyncClient) -> None:
    body = (await client.get("/api/v1/")).json()
    assert body["success"] is True
    assert body["data"]["version"] == "v1"
    assert set(body["meta"]) == {"request_id", "timestamp"}


async def test_wrong_method_is_405_in_the_envelope(client: httpx.AsyncClient) -> None:
    response = await client.delete("/api/v1/")
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert "GET" in response.headers["allow"]


async def test_graphql_errors_carry_spec_codes(client: httpx.AsyncClient) -> None:
    unknown = await client.post("/graphql", json={"query": "{ noSuchField }"})
    assert unknown.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    broken = await client.post("/graphql", json={"query": "{ serverInfo { "})
    assert broken.json()["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"
    ok = await client.post("/graphql", json={"query": "{ serverInfo { version schemaRevision } }"})
    head = code_head_revision()
    assert ok.json() == {"data": {"serverInfo": {"version": "0.1.0", "schemaRevision": head}}}


async def test_graphql_depth_and_alias_limits(client: httpx.AsyncClient) -> None:
    aliases = " ".join(f"a{i}: serverInfo {{ version }}" for i in range(40))
    response = await client.post("/graphql", json={"query": f"{{ {aliases} }}"})
    errors = response.json()["errors"]
    assert errors and errors[0]["extensions"]["code"] == "VALIDATION_ERROR"
    assert "aliases" in errors[0]["message"].lower()


async def test_graphiql_is_served_in_development_only(client: httpx.AsyncClient) -> None:
    # The test settings run as "test": no IDE; development serves GraphiQL (see README).
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert "GraphiQL" not in page.text


async def test_metrics_expose_latency_by_route_template(client: httpx.AsyncClient) -> None:
    await client.get("/health")
    await client.post("/graphql", json={"query": "query Info { serverInfo { version } }"})
    text = (await client.get("/metrics")).text
    assert 'omniroute_http_request_duration_seconds_count{method="GET",route="/health"' in text
    assert 'operation_name="Info",operation_type="query"' in text


async def test_latency_labels_are_templates_not_the_paths_clients_send(
    client: httpx.AsyncClient,
) -> None:
    series = 'omniroute_http_request_duration_seconds_count{method="GET",route="'

    async def count(route: str) -> float:
        text = (await client.get("/metrics")).text
        line = f'{series}{route}",status="404"}} '
        return next((float(x.split()[-1]) for x in text.splitlines() if x.startswith(line)), 0)

    admin = await register(client)
    before = await count("/api/v1/{path}")
    await client.get(f"/api/v1/vehicles/{uuid.uuid4()}", headers=admin.headers)  # a 404 read
    made_up = [f"/api/v1/no-such-{uuid.uuid4().hex}" for _ in range(3)]
    for path in made_up:
        assert (await client.get(path)).status_code == 404
    assert await count("/api/v1/{path}") == before + 3
    assert await count("/api/v1/vehicles/{vehicle_id}") >= 1
    text = (await client.get("/metrics")).text
    assert not any(path in text for path in made_up)


async def test_bad_bodies_are_422_naming_the_field_and_change_nothing(
    client: httpx.AsyncClient,
) -> None:
    malformed = await client.post(
        "/api/v1/auth/login",
        content=b'{"email": "a@b.c",',
        headers={"content-type": "application/json"},
    )
    assert malformed.status_code == 422
    assert malformed.json()["error"]["details"]["fields"][0]["field"] == "body"
    wrong_type = await client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": 12})
    assert wrong_type.status_code == 422
    assert wrong_type.json()["error"]["details"]["fields"][0]["field"] == "password"
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": "a@b.c", "password": "x", "remember_me": True}
    )
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"]["fields"] == [
        {"field": "remember_me", "message": "unknown field"}
    ]
    not_object = await client.post("/api/v1/auth/register", json=["a", "list"])
    assert not_object.status_code == 422
    # Nothing was written by any of them.
    assert (
        await client.post("/api/v1/auth/login", json={"email": "a@b.c", "password": "x"})
    ).status_code == 401


async def test_requests_succeed_after_the_database_closed_every_connection(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    # As after a database restart: the pooled connections are gone, none may fail a request.
    admin = await register(client)
    me = "/api/v1/auth/me"
    assert (await client.get(me, headers=admin.headers)).status_code == 200
    terminated = await owner_conn.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE datname = current_database() AND usename = 'omniroute_app'"
    )
    assert terminated >= 1
    await asyncio.sleep(0.2)  # the driver learns of the close from the socket
    for _ in range(5):
        response = await client.get(me, headers=admin.headers)
        assert response.status_code == 200, response.text
