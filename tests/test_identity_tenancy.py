"""Cross-tenant access: every role of workspace A, pointing the identity operations of both
surfaces at workspace B, learns nothing more than from a random id and changes nothing."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from models.enums import UserRole
from models.permissions import ROLE_MATRIX, Operation
from tests.helpers import ERR, Session, error_code, gql, member, register

ROLES = [role.value for role in UserRole]

REST_TARGETED: list[tuple[str, Operation, str, str, Any]] = [
    ("GET /workspaces/{id}", Operation.WORKSPACE_READ, "GET", "/workspaces/{t}", None),
    (
        "PATCH /workspaces/{id}",
        Operation.WORKSPACE_UPDATE,
        "PATCH",
        "/workspaces/{t}",
        {"name": "Taken over", "settings": {"pwned": True}},
    ),
    ("DELETE /workspaces/{id}", Operation.WORKSPACE_DELETE, "DELETE", "/workspaces/{t}", None),
    ("GET /workspaces/{id}/members", Operation.MEMBER_LIST, "GET", "/workspaces/{t}/members", None),
    (
        "POST /workspaces/{id}/members",
        Operation.MEMBER_INVITE,
        "POST",
        "/workspaces/{t}/members",
        {"email": "mole@example.com", "full_name": "Mole", "role": "admin"},
    ),
    (
        "POST /auth/switch-workspace",
        Operation.WORKSPACE_SWITCH,
        "POST",
        "/auth/switch-workspace",
        {"workspace_id": "{t}"},
    ),
]

GRAPHQL_TARGETED: list[tuple[str, Operation, str]] = [
    ("workspace", Operation.WORKSPACE_READ, "query($t: UUID!) { workspace(id: $t) { id name } }"),
    (
        "updateWorkspace",
        Operation.WORKSPACE_UPDATE,
        'mutation($t: UUID!) { updateWorkspace(id: $t, input: {name: "Taken over"})'
        " { ... on Workspace { id } " + ERR + " } }",
    ),
    (
        "deleteWorkspace",
        Operation.WORKSPACE_DELETE,
        "mutation($t: UUID!) { deleteWorkspace(id: $t) { ... on Done { ok } " + ERR + " } }",
    ),
    (
        "members",
        Operation.MEMBER_LIST,
        "query($t: UUID!) { members(workspaceId: $t) { id email } }",
    ),
    (
        "inviteMember",
        Operation.MEMBER_INVITE,
        "mutation($t: UUID!) { inviteMember(workspaceId: $t,"
        ' input: {email: "mole@example.com", fullName: "Mole", role: ADMIN})'
        " { ... on InvitationPayload { token } " + ERR + " } }",
    ),
    (
        "switchWorkspace",
        Operation.WORKSPACE_SWITCH,
        "mutation($t: UUID!) { switchWorkspace(workspaceId: $t)"
        " { ... on AuthPayload { accessToken } " + ERR + " } }",
    ),
]


async def snapshot(conn: asyncpg.Connection, workspace_id: str) -> dict[str, list[dict[str, Any]]]:
    """Everything identity keeps about one workspace, read as the owner under its tenant."""
    tables = ("workspaces", "users", "audit_logs", "member_invitations", "refresh_token_families")
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        return {
            table: [dict(r) for r in await conn.fetch(f"SELECT * FROM {table} ORDER BY id")]
            for table in tables
        }


def shape(body: dict[str, Any], target: str) -> str:
    """The answer with the id it was asked about blanked out, and no per-request meta."""
    body = {k: v for k, v in body.items() if k != "meta"}
    return json.dumps(body, sort_keys=True).replace(target, "<id>")


async def rest_answer(
    client: httpx.AsyncClient, actor: Session, op: tuple[str, Operation, str, str, Any], target: str
) -> tuple[int, str]:
    _, _, method, path, body = op
    if body is not None:
        body = json.loads(json.dumps(body).replace("{t}", target))
    response = await client.request(
        method, "/api/v1" + path.format(t=target), json=body, headers=actor.headers
    )
    return response.status_code, shape(response.json(), target)


async def graphql_answer(
    client: httpx.AsyncClient, actor: Session, query: str, target: str
) -> tuple[str, str]:
    body = await gql(client, query, {"t": target}, session=actor)
    code = error_code(body)
    assert code is not None, body
    return code, shape(body, target)


@pytest.mark.parametrize("role", ROLES)
async def test_workspace_a_cannot_reach_workspace_b(
    role: str, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    owner_a = await register(client, organization="Acme Freight")
    actor = await member(client, owner_a, role)
    owner_b = await register(client, organization="Rival Logistics")
    # A workspace of A's own organization that the actor is not a member of.
    private = await client.post(
        "/api/v1/workspaces", json={"name": "Board", "region": "eu-west"}, headers=owner_a.headers
    )
    assert private.status_code == 201
    targets = {
        "workspace B": owner_b.workspace_id,
        "A's other workspace": private.json()["data"]["id"],
    }
    before = {name: await snapshot(owner_conn, ws) for name, ws in targets.items()}
    assert all(b["workspaces"] and b["users"] and b["audit_logs"] for b in before.values())
    missing = str(uuid.uuid4())

    for op in REST_TARGETED:
        name, operation = op[0], op[1]
        status, answer = await rest_answer(client, actor, op, missing)
        assert status == (404 if role in ROLE_MATRIX[operation] else 403), (name, answer)
        for target_name, target in targets.items():
            assert await rest_answer(client, actor, op, target) == (status, answer), (
                name,
                target_name,
            )
    for name, operation, query in GRAPHQL_TARGETED:
        code, answer = await graphql_answer(client, actor, query, missing)
        assert code == ("NOT_FOUND" if role in ROLE_MATRIX[operation] else "FORBIDDEN"), name
        for target_name, target in targets.items():
            assert await graphql_answer(client, actor, query, target) == (code, answer), (
                name,
                target_name,
            )

    # Listings of A show nothing of B.
    listed = await client.get("/api/v1/workspaces", headers=actor.headers)
    assert [w["workspace_id"] for w in listed.json()["data"]] == [actor.workspace_id]
    mine = await gql(client, "{ workspaces { workspaceId } }", session=actor)
    assert mine["data"]["workspaces"] == [{"workspaceId": actor.workspace_id}]

    for name, ws in targets.items():
        assert await snapshot(owner_conn, ws) == before[name], name
    # B's admin still works there, undisturbed.
    me_b = await client.get("/api/v1/auth/me", headers=owner_b.headers)
    assert me_b.json()["data"]["workspace"]["name"] == "Main"


async def test_the_same_email_in_another_organization_is_another_tenant(
    client: httpx.AsyncClient,
) -> None:
    """Memberships are matched by email, but only within the token's organization."""
    email = f"twice-{uuid.uuid4().hex[:8]}@example.com"
    in_a = await register(client, email=email, organization="Acme Freight")
    in_b = await register(client, email=email, organization="Rival Logistics")
    switched = await client.post(
        "/api/v1/auth/switch-workspace",
        json={"workspace_id": in_b.workspace_id},
        headers=in_a.headers,
    )
    assert switched.status_code == 404
    assert switched.json()["error"]["code"] == "NOT_FOUND"
    read = await client.get(f"/api/v1/workspaces/{in_b.workspace_id}", headers=in_a.headers)
    assert read.status_code == 404
    listed = await client.get("/api/v1/workspaces", headers=in_a.headers)
    assert [w["workspace_id"] for w in listed.json()["data"]] == [in_a.workspace_id]
