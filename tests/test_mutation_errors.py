"""Mutations answer their expected failures as typed members of their result union, with
the spec's code, and change nothing; authorization failures stay GraphQL errors."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.helpers import ERR, PASSWORD, Session, error_code, gql, member, register

CREATE = (
    "mutation($i: VehicleInput!) { createVehicle(input: $i) {"
    f" __typename ... on Vehicle {{ id plateNumber }} {ERR} }} }}"
)
UPDATE = (
    "mutation($id: UUID!, $i: VehiclePatch!) { updateVehicle(id: $id, input: $i) {"
    f" __typename ... on Vehicle {{ id }} {ERR} }} }}"
)
DELETE = f"mutation($id: UUID!) {{ deleteVehicle(id: $id) {{ __typename {ERR} }} }}"
LOGIN = (
    "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {"
    f" __typename ... on AuthPayload {{ accessToken }} {ERR} ... on RateLimitedError"
    " { retryAfterS } } }"
)
VEHICLES = "{ vehicles(first: 50) { totalCount edges { node { plateNumber capacityKg } } } }"


async def fleet(client: httpx.AsyncClient, who: Session) -> dict[str, Any]:
    body = await gql(client, VEHICLES, session=who)
    return dict(body["data"]["vehicles"])


async def test_expected_failures_are_typed_and_change_nothing(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    made = await gql(
        client, CREATE, {"i": {"vehicleType": "VAN", "plateNumber": "T-1"}}, session=admin
    )
    vehicle = made["data"]["createVehicle"]
    assert vehicle["__typename"] == "Vehicle"
    before = await fleet(client, admin)

    invalid = await gql(
        client,
        CREATE,
        {"i": {"vehicleType": "VAN", "plateNumber": "T-2", "capacityKg": -5}},
        session=admin,
    )
    assert "errors" not in invalid
    result = invalid["data"]["createVehicle"]
    assert result["__typename"] == "ValidationError"
    assert result["code"] == "VALIDATION_ERROR"
    assert result["fields"][0]["path"] == ["capacity_kg"]

    duplicate = await gql(
        client, CREATE, {"i": {"vehicleType": "VAN", "plateNumber": "t-1"}}, session=admin
    )
    # Plates are unique per workspace, whatever their case (updateIncident's status jumps and
    # deployRoute twice answer ConflictError: tests/test_incident_scene.py, test_routing_graphql).
    assert duplicate["data"]["createVehicle"]["fields"][0]["path"] == ["plate_number"]

    missing = str(uuid.uuid4())
    for query, variables, field in (
        (UPDATE, {"id": missing, "i": {"capacityKg": 10}}, "updateVehicle"),
        (DELETE, {"id": missing}, "deleteVehicle"),
    ):
        body = await gql(client, query, variables, session=admin)
        assert body["data"][field]["__typename"] == "NotFoundError", body
        assert body["data"][field]["code"] == "NOT_FOUND"
        assert missing in body["data"][field]["message"]

    bad_patch = await gql(
        client, UPDATE, {"id": vehicle["id"], "i": {"capacityKg": -1}}, session=admin
    )
    assert bad_patch["data"]["updateVehicle"]["fields"][0]["path"] == ["capacity_kg"]
    assert await fleet(client, admin) == before


async def test_authorization_failures_stay_graphql_errors(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    variables = {"i": {"vehicleType": "VAN", "plateNumber": "V-1"}}
    denied = await gql(client, CREATE, variables, session=viewer)
    assert denied["data"] is None
    assert denied["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    anonymous = await gql(client, CREATE, variables)
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHORIZED"
    assert "Traceback" not in str(denied) + str(anonymous)
    assert (await fleet(client, admin))["totalCount"] == 0


async def test_a_rate_limited_login_is_typed_with_its_wait(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    codes = []
    for _ in range(8):
        body = await gql(client, LOGIN, {"e": admin.email, "p": "not the password"})
        codes.append(error_code(body))
        if codes[-1] == "RATE_LIMITED":
            limited = body["data"]["login"]
            break
    # Wrong passwords are refused (a GraphQL error: nothing a client could fix), then slowed.
    assert codes[0] == "UNAUTHORIZED"
    assert codes[-1] == "RATE_LIMITED"
    assert limited["__typename"] == "RateLimitedError"
    assert limited["retryAfterS"] >= 1
    right = await gql(client, LOGIN, {"e": admin.email, "p": PASSWORD})
    assert right["data"]["login"]["__typename"] == "RateLimitedError"
