"""A malformed-input corpus against every REST write path and GraphQL: NaN, infinities, huge
numbers, wrong types, deep nesting, invalid UTF-8, null bytes and a 10 MB body. Never a
server error or a trace; every rejection is in the envelope and names the field."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.helpers import ERR, register

CORPUS: dict[str, bytes] = {
    "NaN": b'{"capacity_kg": NaN, "lat": NaN, "lng": NaN}',
    "infinities": b'{"lat": Infinity, "lng": -Infinity, "capacity_kg": Infinity}',
    "huge float": b'{"capacity_kg": 1e400, "lat": 1e308}',
    "huge integer": b'{"capacity_kg": 123456789012345678901234567890123456789}',
    "array": b"[1, 2, 3]",
    "string": b'"text"',
    "null": b"null",
    "wrong types": b'{"plate_number": {"nested": [1]}, "vehicle_type": 5, "name": [], "stops": "x"}',
    "null byte": b'{"name": "a\\u0000b", "plate_number": "A\\u0000B", "email": "a\\u0000@b.c"}',
    "invalid UTF-8": b'{"name": "\xff\xfe\xfa"}',
    "deep nesting": b'{"a":' * 5000 + b"1" + b"}" * 5000,
    "10 MB": b'{"name": "' + b"x" * 10_000_000 + b'"}',
}
WRITES = [
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/auth/refresh",
    "/api/v1/vehicles",
    "/api/v1/drivers",
    "/api/v1/locations",
    "/api/v1/locations/import",
    "/api/v1/routes",
    "/api/v1/routes/plan",
    "/api/v1/tracking/update",
    "/api/v1/tracking/batch",
    "/api/v1/quantum/optimize",
    "/api/v1/quantum/simulate",
]


def assert_rejected_in_envelope(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text[:300])
    assert "Traceback" not in response.text
    body = response.json()
    if response.status_code >= 400:
        assert body["success"] is False and body["error"]["code"], what
    if response.status_code == 422:
        assert "field" in json.dumps(body["error"]["details"]), (what, body)


@pytest.mark.parametrize("path", WRITES)
async def test_rest_writes_refuse_the_corpus_cleanly(client: httpx.AsyncClient, path: str) -> None:
    admin = await register(client)
    headers = {**admin.headers, "content-type": "application/json"}
    for name, body in CORPUS.items():
        response = await client.post(path, content=body, headers=headers)
        assert_rejected_in_envelope(response, f"{path} {name}")


async def test_graphql_refuses_the_corpus_cleanly(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    headers = {**admin.headers, "content-type": "application/json"}
    mutation = "mutation($i: VehicleInput!) { createVehicle(input: $i) { id } }"
    for name, body in CORPUS.items():
        response = await client.post("/graphql", content=body, headers=headers)
        assert response.status_code < 500, (name, response.text[:300])
        assert "Traceback" not in response.text
        wrapped = b'{"query": "' + mutation.encode() + b'", "variables": {"i": ' + body + b"}}"
        response = await client.post("/graphql", content=wrapped, headers=headers)
        assert response.status_code < 500, (name, response.text[:300])
        assert "Traceback" not in response.text


async def test_a_nul_character_in_an_otherwise_valid_body_names_its_field(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    place = {"name": "Depot", "geo": {"lng": 77.5, "lat": 12.9}}
    for body, field in (
        ({**place, "name": "De\u0000pot"}, "name"),
        ({**place, "metadata": {"dock": ["A", "B\u0000"]}}, "metadata.dock.1"),
    ):
        response = await client.post("/api/v1/locations", json=body, headers=admin.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]["fields"][0]["field"] == field
    query = (
        "mutation($i: LocationInput!) { createLocation(input: $i) {"
        " __typename ... on Location { id } " + ERR + " } }"
    )
    variables = {"i": {"name": "X\u0000", "geo": {"type": "Point", "coordinates": [77.5, 12.9]}}}
    answer = await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=admin.headers
    )
    refused = answer.json()["data"]["createLocation"]
    assert refused["__typename"] == "ValidationError", answer.text
    assert refused["code"] == "VALIDATION_ERROR"
    [problem] = refused["fields"]
    assert problem["path"] == ["name"], answer.text
    assert "NUL" in problem["message"], answer.text
