"""The role matrix of `models.permissions`, enforced on every identity operation of both
surfaces: each role gets a success where the matrix allows it and FORBIDDEN elsewhere."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from models.enums import UserRole
from models.permissions import ROLE_MATRIX, Operation
from tests.helpers import PASSWORD, Session, gql, member, register

ROLES = [role.value for role in UserRole]


@dataclass(frozen=True)
class Cast:
    """A member with one role, in its workspace and in a second one it may switch to."""

    actor: Session
    other_workspace_id: str

    @property
    def workspace_id(self) -> str:
        return self.actor.workspace_id


async def cast_for(client: httpx.AsyncClient, role: str) -> Cast:
    admin = await register(client)
    actor = await member(client, admin, role)
    created = await client.post(
        "/api/v1/workspaces", json={"name": "Second", "region": "eu-west"}, headers=admin.headers
    )
    assert created.status_code == 201, created.text
    second = created.json()["data"]["id"]
    switched = await client.post(
        "/api/v1/auth/switch-workspace", json={"workspace_id": second}, headers=admin.headers
    )
    there = Session.of(switched.json()["data"])
    invited = await client.post(
        f"/api/v1/workspaces/{second}/members",
        json={"email": actor.email, "full_name": "Same Person", "role": role},
        headers=there.headers,
    )
    assert invited.status_code == 201, invited.text
    accepted = await client.post(
        "/api/v1/auth/accept-invitation",
        json={"token": invited.json()["data"]["token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    return Cast(actor, second)


def fresh_email() -> str:
    return f"new-{uuid.uuid4().hex[:8]}@example.com"


RestCall = Callable[[httpx.AsyncClient, Cast], Awaitable[httpx.Response]]


def rest(method: str, path: str, body: Callable[[Cast], Any] | None = None) -> RestCall:
    async def call(client: httpx.AsyncClient, cast: Cast) -> httpx.Response:
        return await client.request(
            method,
            "/api/v1" + path.format(ws=cast.workspace_id),
            json=body(cast) if body else None,
            headers=cast.actor.headers,
        )

    return call


# Deleting the workspace ends the actor's session: it comes last.
REST_OPERATIONS: list[tuple[str, Operation, RestCall]] = [
    ("GET /auth/me", Operation.PROFILE_READ, rest("GET", "/auth/me")),
    (
        "PATCH /auth/me",
        Operation.PROFILE_UPDATE,
        rest("PATCH", "/auth/me", lambda c: {"full_name": "Renamed"}),
    ),
    ("GET /workspaces", Operation.WORKSPACE_LIST, rest("GET", "/workspaces")),
    (
        "POST /workspaces",
        Operation.WORKSPACE_CREATE,
        rest("POST", "/workspaces", lambda c: {"name": "Created", "region": "us-east"}),
    ),
    ("GET /workspaces/{id}", Operation.WORKSPACE_READ, rest("GET", "/workspaces/{ws}")),
    (
        "PATCH /workspaces/{id}",
        Operation.WORKSPACE_UPDATE,
        rest("PATCH", "/workspaces/{ws}", lambda c: {"name": "Renamed"}),
    ),
    (
        "GET /workspaces/{id}/members",
        Operation.MEMBER_LIST,
        rest("GET", "/workspaces/{ws}/members"),
    ),
    (
        "POST /workspaces/{id}/members",
        Operation.MEMBER_INVITE,
        rest(
            "POST",
            "/workspaces/{ws}/members",
            lambda c: {"email": fresh_email(), "full_name": "New", "role": "viewer"},
        ),
    ),
    (
        "POST /auth/switch-workspace",
        Operation.WORKSPACE_SWITCH,
        rest("POST", "/auth/switch-workspace", lambda c: {"workspace_id": c.other_workspace_id}),
    ),
    ("DELETE /workspaces/{id}", Operation.WORKSPACE_DELETE, rest("DELETE", "/workspaces/{ws}")),
]

GRAPHQL_OPERATIONS: list[tuple[str, Operation, str]] = [
    ("me", Operation.PROFILE_READ, "query { me { user { id } } }"),
    ("workspaces", Operation.WORKSPACE_LIST, "query { workspaces { workspaceId } }"),
    ("workspace", Operation.WORKSPACE_READ, "query($ws: UUID!) { workspace(id: $ws) { id } }"),
    ("members", Operation.MEMBER_LIST, "query($ws: UUID!) { members(workspaceId: $ws) { id } }"),
    (
        "updateProfile",
        Operation.PROFILE_UPDATE,
        'mutation { updateProfile(input: {fullName: "Renamed"}) { ... on User { id } } }',
    ),
    (
        "createWorkspace",
        Operation.WORKSPACE_CREATE,
        'mutation { createWorkspace(input: {name: "Created", region: US_EAST})'
        " { ... on Workspace { id } } }",
    ),
    (
        "updateWorkspace",
        Operation.WORKSPACE_UPDATE,
        'mutation($ws: UUID!) { updateWorkspace(id: $ws, input: {name: "Renamed"})'
        " { ... on Workspace { id } } }",
    ),
    (
        "inviteMember",
        Operation.MEMBER_INVITE,
        "mutation($ws: UUID!, $email: String!) { inviteMember(workspaceId: $ws,"
        ' input: {email: $email, fullName: "New", role: VIEWER})'
        " { ... on InvitationPayload { token } } }",
    ),
    (
        "switchWorkspace",
        Operation.WORKSPACE_SWITCH,
        "mutation($other: UUID!) { switchWorkspace(workspaceId: $other)"
        " { ... on AuthPayload { accessToken } } }",
    ),
    (
        "deleteWorkspace",
        Operation.WORKSPACE_DELETE,
        "mutation($ws: UUID!) { deleteWorkspace(id: $ws) { ... on Done { ok } } }",
    ),
]


def expected(role: str, operations: list[tuple[str, Operation, Any]]) -> dict[str, str]:
    return {
        name: "allowed" if role in ROLE_MATRIX[operation] else "FORBIDDEN"
        for name, operation, _ in operations
    }


def test_every_identity_operation_is_covered() -> None:
    identity = {
        op for op in Operation if op.value.split(".")[0] in {"profile", "workspace", "member"}
    }
    assert {op for _, op, _ in REST_OPERATIONS} == identity
    assert {op for _, op, _ in GRAPHQL_OPERATIONS} == identity


@pytest.mark.parametrize("role", ROLES)
async def test_rest_enforces_the_role_matrix(role: str, client: httpx.AsyncClient) -> None:
    cast = await cast_for(client, role)
    outcomes: dict[str, str] = {}
    for name, _, call in REST_OPERATIONS:
        response = await call(client, cast)
        if response.status_code in (200, 201):
            outcomes[name] = "allowed"
        else:
            outcomes[name] = response.json()["error"]["code"]
            if response.status_code == 403:
                assert role in response.json()["error"]["message"]
    assert outcomes == expected(role, REST_OPERATIONS)


@pytest.mark.parametrize("role", ROLES)
async def test_graphql_enforces_the_role_matrix(role: str, client: httpx.AsyncClient) -> None:
    cast = await cast_for(client, role)
    outcomes: dict[str, str] = {}
    for name, _, query in GRAPHQL_OPERATIONS:
        variables = {"ws": cast.workspace_id, "other": cast.other_workspace_id}
        variables = {k: v for k, v in variables.items() if f"${k}" in query}
        if "$email" in query:
            variables["email"] = fresh_email()
        body = await gql(client, query, variables, session=cast.actor)
        if body.get("errors"):
            outcomes[name] = body["errors"][0]["extensions"]["code"]
        else:
            assert body["data"][name], body  # a success, not a typed error
            outcomes[name] = "allowed"
    assert outcomes == expected(role, GRAPHQL_OPERATIONS)
