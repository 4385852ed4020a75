"""Small clients for tests: register and log in over REST, call GraphQL with a token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

PASSWORD = "correct horse battery staple"


@dataclass(frozen=True)
class Session:
    access_token: str
    refresh_token: str
    user_id: str
    workspace_id: str
    organization_id: str
    email: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}"}

    @classmethod
    def of(cls, data: dict[str, Any]) -> Session:
        return cls(
            access_token=data["access_token"],
            refresh_token=data["refresh_token"],
            user_id=data["user"]["id"],
            workspace_id=data["workspace"]["id"],
            organization_id=data["workspace"]["organization_id"],
            email=data["user"]["email"],
        )


async def register(
    client: httpx.AsyncClient, *, email: str | None = None, organization: str = "Acme Freight"
) -> Session:
    email = email or f"admin-{uuid.uuid4().hex[:8]}@example.com"
    response = await client.post(
        "/api/v1/auth/register",
        json={
            "email": email,
            "password": PASSWORD,
            "full_name": "Ada Admin",
            "organization_name": organization,
            "workspace_name": "Main",
        },
    )
    assert response.status_code == 201, response.text
    return Session.of(response.json()["data"])


async def login(
    client: httpx.AsyncClient,
    email: str,
    password: str = PASSWORD,
    workspace_id: str | None = None,
) -> httpx.Response:
    body: dict[str, Any] = {"email": email, "password": password}
    if workspace_id:
        body["workspace_id"] = workspace_id
    return await client.post("/api/v1/auth/login", json=body)


async def member(client: httpx.AsyncClient, admin: Session, role: str) -> Session:
    """Invite a member with `role` into the admin's workspace and accept as them."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    invited = await client.post(
        f"/api/v1/workspaces/{admin.workspace_id}/members",
        json={"email": email, "full_name": role.title(), "role": role},
        headers=admin.headers,
    )
    assert invited.status_code == 201, invited.text
    accepted = await client.post(
        "/api/v1/auth/accept-invitation",
        json={"token": invited.json()["data"]["token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    return Session.of(accepted.json()["data"])


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    session: Session | None = None,
) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables or {}},
        headers=session.headers if session else {},
    )
    body: dict[str, Any] = response.json()
    return body


# Selects a mutation result's typed error: `createVehicle(...) { ... on Vehicle { id } ERR }`.
ERR = (
    "... on MutationError { __typename code message details }"
    " ... on ValidationError { fields { path message } }"
)


def error_code(body: dict[str, Any]) -> str | None:
    """The GraphQL error's code, else the code of a mutation's typed error."""
    errors = body.get("errors") or []
    if errors:
        return str(errors[0]["extensions"]["code"])
    for value in (body.get("data") or {}).values():
        if isinstance(value, dict) and str(value.get("__typename", "")).endswith("Error"):
            return str(value["code"])
    return None
