"""The auth flow a client scripts: register, login, call, refresh, logout; in both surfaces."""

from __future__ import annotations

import httpx

from tests.helpers import ERR, PASSWORD, error_code, gql, login, member, register


async def test_register_login_call_refresh_logout(client: httpx.AsyncClient) -> None:
    admin = await register(client, email="Founder@Example.com ")
    assert admin.email == "founder@example.com"

    logged_in = await login(client, "FOUNDER@example.com")
    assert logged_in.status_code == 200
    data = logged_in.json()["data"]
    assert data["token_type"] == "bearer"
    assert data["expires_in"] == 900
    assert data["user"]["role"] == "admin"
    headers = {"Authorization": f"Bearer {data['access_token']}"}

    me = await client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["data"]["workspace"]["name"] == "Main"

    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": data["refresh_token"]}
    )
    assert refreshed.status_code == 200
    new = refreshed.json()["data"]
    assert new["refresh_token"] != data["refresh_token"]
    new_headers = {"Authorization": f"Bearer {new['access_token']}"}

    out = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": new["refresh_token"]}, headers=new_headers
    )
    assert out.status_code == 200
    # The access token stops working at once, and the session cannot be refreshed.
    after = await client.get("/api/v1/auth/me", headers=new_headers)
    assert after.status_code == 401
    assert after.json()["error"]["code"] == "UNAUTHORIZED"
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]})
    assert again.status_code == 401


async def test_wrong_password_and_unknown_email_look_the_same(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    wrong = await login(client, admin.email, "not the password at all")
    unknown = await login(client, "nobody@example.com", "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"] == unknown.json()["error"]


async def test_registration_validation(client: httpx.AsyncClient) -> None:
    base = {
        "email": "ops@example.com",
        "password": PASSWORD,
        "full_name": "Ops",
        "organization_name": "Ops Co",
        "workspace_name": "Main",
    }
    cases = {
        "password": {**base, "password": "short"},
        "email": {**base, "email": "not-an-email"},
        "organization_name": {**base, "organization_name": 42},
        "role": {**base, "role": "admin"},
    }
    for field, body in cases.items():
        response = await client.post("/api/v1/auth/register", json=body)
        assert response.status_code == 422, (field, response.text)
        fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
        assert field in fields
    same = await client.post("/api/v1/auth/register", json={**base, "password": "ops@example.com"})
    assert same.status_code == 422


async def test_organization_slugs_stay_unique(client: httpx.AsyncClient) -> None:
    first = await register(client, organization="Same Name")
    second = await register(client, organization="Same Name")
    assert first.organization_id != second.organization_id


async def test_profile_update_cannot_change_role_or_workspace(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    for field, value in (("role", "admin"), ("workspace_id", admin.workspace_id)):
        response = await client.patch(
            "/api/v1/auth/me", json={field: value}, headers=viewer.headers
        )
        assert response.status_code == 422
    renamed = await client.patch(
        "/api/v1/auth/me", json={"full_name": "Vera Viewer"}, headers=viewer.headers
    )
    assert renamed.status_code == 200
    assert renamed.json()["data"]["user"]["full_name"] == "Vera Viewer"
    assert renamed.json()["data"]["user"]["role"] == "viewer"


async def test_password_change_needs_the_current_password(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    wrong = await client.patch(
        "/api/v1/auth/me",
        json={"password": "a brand new passphrase", "current_password": "guess"},
        headers=admin.headers,
    )
    assert wrong.status_code == 422
    ok = await client.patch(
        "/api/v1/auth/me",
        json={"password": "a brand new passphrase", "current_password": PASSWORD},
        headers=admin.headers,
    )
    assert ok.status_code == 200
    assert (await login(client, admin.email, "a brand new passphrase")).status_code == 200
    assert (await login(client, admin.email)).status_code == 401


async def test_switch_workspace_issues_tokens_for_the_other_workspace(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    created = await client.post(
        "/api/v1/workspaces",
        json={"name": "Night shift", "region": "eu-west"},
        headers=admin.headers,
    )
    assert created.status_code == 201
    second = created.json()["data"]["id"]
    listed = await client.get("/api/v1/workspaces", headers=admin.headers)
    assert {w["workspace_id"] for w in listed.json()["data"]} == {admin.workspace_id, second}
    switched = await client.post(
        "/api/v1/auth/switch-workspace", json={"workspace_id": second}, headers=admin.headers
    )
    assert switched.status_code == 200
    assert switched.json()["data"]["workspace"]["id"] == second
    # A login may also choose the workspace.
    chosen = await login(client, admin.email, workspace_id=second)
    assert chosen.json()["data"]["workspace"]["name"] == "Night shift"


async def test_graphql_flow(client: httpx.AsyncClient) -> None:
    registered = await gql(
        client,
        """mutation($input: RegisterInput!) { register(input: $input) { ... on AuthPayload {
             accessToken refreshToken user { email role } workspace { name } } } }""",
        {
            "input": {
                "email": "gql@example.com",
                "password": PASSWORD,
                "fullName": "G Q L",
                "organizationName": "Graph Co",
                "workspaceName": "Graph Main",
            }
        },
    )
    payload = registered["data"]["register"]
    assert payload["user"] == {"email": "gql@example.com", "role": "ADMIN"}
    headers = {"Authorization": f"Bearer {payload['accessToken']}"}
    me = await client.post(
        "/graphql", json={"query": "{ me { user { email } workspace { name } } }"}, headers=headers
    )
    assert me.json()["data"]["me"]["workspace"]["name"] == "Graph Main"
    anonymous = await gql(client, "{ me { user { email } } }")
    assert error_code(anonymous) == "UNAUTHORIZED"
    bad = await gql(
        client,
        'mutation { login(input: {email: "gql@example.com", password: "nope"})'
        " { ... on AuthPayload { accessToken } } }",
    )
    assert error_code(bad) == "UNAUTHORIZED"
    short = await gql(
        client,
        "mutation($input: RegisterInput!) { register(input: $input) {"
        f" ... on AuthPayload {{ accessToken }} {ERR} }} }}",
        {
            "input": {
                "email": "x@example.com",
                "password": "short",
                "fullName": "X",
                "organizationName": "X Co",
                "workspaceName": "X",
            }
        },
    )
    assert error_code(short) == "VALIDATION_ERROR"
    assert short["data"]["register"]["fields"][0]["path"] == ["password"]


async def test_password_change_ends_every_session_and_logout_needs_no_body(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    other_device = (await login(client, admin.email)).json()["data"]
    changed = await client.patch(
        "/api/v1/auth/me",
        json={"password": "another long passphrase", "current_password": PASSWORD},
        headers=admin.headers,
    )
    assert changed.status_code == 200
    stale = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other_device["refresh_token"]}
    )
    assert stale.status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=admin.headers)).status_code == 401
    signed_in = await login(client, admin.email, "another long passphrase")
    headers = {"Authorization": f"Bearer {signed_in.json()['data']['access_token']}"}
    out = await client.post("/api/v1/auth/logout", headers=headers)
    assert out.status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401


async def test_login_upgrades_a_hash_made_with_weaker_parameters(
    client: httpx.AsyncClient, owner_conn: object
) -> None:
    import asyncpg
    from argon2 import PasswordHasher

    assert isinstance(owner_conn, asyncpg.Connection)
    admin = await register(client)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute("UPDATE users SET password_hash = $1", weak)
    assert (await login(client, admin.email)).status_code == 200
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        stored = await owner_conn.fetchval("SELECT password_hash FROM users")
    assert stored != weak
    assert "m=19456,t=2,p=1" in stored
    assert (await login(client, admin.email)).status_code == 200
