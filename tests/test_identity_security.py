"""Attacks on the identity layer: forged and stale tokens, refresh-token theft, logout,
password guessing; and the audit trail and events every identity change leaves."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from redis.asyncio import Redis

from core.events import Event
from core.settings import Settings
from tests.conftest import (
    DatabaseUnderTest,
    create_database,
    drop_database,
    fresh_database_name,
    settings_for,
    start_app,
)
from tests.events_helpers import eventually
from tests.helpers import PASSWORD, Session, error_code, gql, login, member, register

ME = "/api/v1/auth/me"
GQL_ME = "{ me { user { id } } }"
CLIENT_IP = "203.0.113.7"


@contextlib.asynccontextmanager
async def serving(settings: Settings, ip: str = CLIENT_IP) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app started with `settings` (and stopped afterwards)."""
    app, lifespan = await start_app(settings)
    try:
        transport = httpx.ASGITransport(app=app, client=(ip, 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


AppWith = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def app_with(database: DatabaseUnderTest, redis: Redis) -> AppWith:
    """`async with app_with(**settings, ip=...) as client`: an app of this test's database."""

    def make(ip: str = CLIENT_IP, **overrides: Any) -> Any:
        return serving(settings_for(database.name, **overrides), ip=ip)

    return make


async def tenant_rows(
    conn: asyncpg.Connection, workspace_id: str, sql: str, *args: Any
) -> list[asyncpg.Record]:
    """`sql` as the owner, seeing the rows of one workspace (RLS applies to the owner too)."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        return await conn.fetch(sql, *args)


async def assert_refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """UNAUTHORIZED on a protected REST route and on a protected GraphQL field."""
    rest = await client.get(ME, headers=headers)
    assert rest.status_code == 401, rest.text
    assert rest.json()["error"]["code"] == "UNAUTHORIZED"
    graphql = (await client.post("/graphql", json={"query": GQL_ME}, headers=headers)).json()
    assert error_code(graphql) == "UNAUTHORIZED", graphql
    assert graphql["data"] is None


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def b64json(value: dict[str, Any]) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


# --- forged and stale access tokens -------------------------------------------------------


@dataclass
class World:
    """One workspace shared by the forgery cases, which change nothing in it."""

    client: httpx.AsyncClient
    admin: Session
    viewer: Session
    secret: str

    def signed(self, **changes: Any) -> dict[str, str]:
        """The admin's claims with `changes` (None drops a claim), signed with the real key."""
        claims = {**claims_of(self.admin.access_token), **changes}
        claims = {k: v for k, v in claims.items() if v is not None}
        return bearer(jwt.encode(claims, self.secret, algorithm="HS256"))


@pytest.fixture(scope="module")
async def world(migrated_template: str) -> AsyncIterator[World]:
    name = fresh_database_name()
    await create_database(name, migrated_template)
    try:
        settings = settings_for(name)
        async with serving(settings) as client:
            admin = await register(client)
            viewer = await member(client, admin, "viewer")
            yield World(client, admin, viewer, settings.jwt_secret.get_secret_value())
    finally:
        await drop_database(name)


def alg_none(w: World) -> dict[str, str]:
    header = b64json({"alg": "none", "typ": "JWT"})
    return bearer(f"{header}.{b64json(claims_of(w.admin.access_token))}.")


def tampered_role(w: World) -> dict[str, str]:
    header, _, signature = w.viewer.access_token.split(".")
    claims = claims_of(w.viewer.access_token)
    assert claims["role"] == "viewer"
    return bearer(f"{header}.{b64json({**claims, 'role': 'admin'})}.{signature}")


def expired(w: World) -> dict[str, str]:
    now = int(time.time())
    return w.signed(iat=now - 3600, nbf=now - 3600, exp=now - 60)


FORGERIES: dict[str, Callable[[World], dict[str, str]]] = {
    "alg-none": alg_none,
    "signed-with-another-secret": lambda w: bearer(
        jwt.encode(claims_of(w.admin.access_token), "x" * 48, algorithm="HS256")
    ),
    "wrong-iss": lambda w: w.signed(iss="someone-else"),
    "wrong-aud": lambda w: w.signed(aud="another-api"),
    "expired": expired,
    "nbf-in-the-future": lambda w: w.signed(nbf=int(time.time()) + 300),
    "no-exp-claim": lambda w: w.signed(exp=None),
    "typ-not-access": lambda w: w.signed(typ="refresh"),
    "payload-role-changed-to-admin": tampered_role,
    "refresh-token-as-bearer": lambda w: bearer(w.admin.refresh_token),
    "no-authorization-header": lambda w: {},
    "garbage-token": lambda w: bearer("not.a.jwt"),
    "basic-scheme": lambda w: {"Authorization": "Basic YWRtaW46c2VjcmV0"},
    "token-without-bearer-scheme": lambda w: {"Authorization": w.admin.access_token},
}


@pytest.mark.parametrize("forge", list(FORGERIES.values()), ids=list(FORGERIES))
async def test_forged_access_token_is_refused(
    forge: Callable[[World], dict[str, str]], world: World
) -> None:
    # The genuine tokens work, so a refusal below is the forgery's doing.
    assert (await world.client.get(ME, headers=world.admin.headers)).status_code == 200
    assert (await world.client.get(ME, headers=world.viewer.headers)).status_code == 200
    await assert_refused(world.client, forge(world))


def update_user(assignment: str) -> Callable[[httpx.AsyncClient, Session, Any], Awaitable[None]]:
    async def change(client: httpx.AsyncClient, admin: Session, conn: Any) -> None:
        sql = f"UPDATE users SET {assignment} WHERE id = $1"
        await tenant_rows(conn, admin.workspace_id, sql, uuid.UUID(admin.user_id))

    return change


async def delete_workspace(client: httpx.AsyncClient, admin: Session, conn: Any) -> None:
    deleted = await client.delete(f"/api/v1/workspaces/{admin.workspace_id}", headers=admin.headers)
    assert deleted.status_code == 200, deleted.text


@pytest.mark.parametrize(
    "change",
    [update_user("deleted_at = now()"), update_user("status = 'suspended'"), delete_workspace],
    ids=["user-soft-deleted", "user-suspended", "workspace-soft-deleted"],
)
async def test_token_of_a_user_who_lost_access_is_refused(
    change: Callable[[httpx.AsyncClient, Session, Any], Awaitable[None]],
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register(client)
    assert (await client.get(ME, headers=admin.headers)).status_code == 200
    await change(client, admin, owner_conn)
    await assert_refused(client, admin.headers)
    # Nor can the session be refreshed back to life.
    assert (await refresh(client, admin.refresh_token)).status_code == 401


async def test_concurrent_requests_of_active_and_suspended_users_each_get_their_own_answer(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    # Checks of requests arriving together share one look-up: each must get its own user's.
    active, suspended = await register(client), await register(client)
    sql = "UPDATE users SET status = 'suspended' WHERE id = $1"
    await tenant_rows(owner_conn, suspended.workspace_id, sql, uuid.UUID(suspended.user_id))
    callers = [active, suspended] * 15
    answers = await asyncio.gather(*(client.get(ME, headers=c.headers) for c in callers))
    for caller, answer in zip(callers, answers, strict=True):
        if caller is active:
            assert answer.status_code == 200, answer.text
            assert answer.json()["data"]["user"]["id"] == active.user_id
        else:
            assert answer.status_code == 401, answer.text


def _rsa_key_files(folder: Path) -> tuple[Path, Path, rsa.RSAPrivateKey]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = folder / "jwt-private.pem"
    public = folder / "jwt-public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public, key


async def test_rs256_publishes_its_key_and_refuses_hs256_signed_with_it(
    app_with: AppWith, tmp_path: Path
) -> None:
    private, public, key = _rsa_key_files(tmp_path)
    rs256 = {"jwt_private_key_file": str(private), "jwt_public_key_file": str(public)}
    async with app_with(jwt_algorithm="RS256", **rs256) as client:
        admin = await register(client)
        header = jwt.get_unverified_header(admin.access_token)
        assert header["alg"] == "RS256"
        assert (await client.get(ME, headers=admin.headers)).status_code == 200
        ok = await gql(client, GQL_ME, session=admin)
        assert ok["data"]["me"]["user"]["id"] == admin.user_id

        jwks = (await client.get("/api/v1/auth/jwks")).json()
        [jwk] = jwks["keys"]
        numbers = key.public_key().public_numbers()
        assert (jwk["kty"], jwk["alg"], jwk["use"], jwk["kid"]) == (
            "RSA",
            "RS256",
            "sig",
            header["kid"],
        )
        assert jwk["n"] == b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big"))
        assert "d" not in jwk  # nothing private is published
        # The published key verifies the genuine token.
        verifier = jwt.PyJWK(jwk)
        assert jwt.decode(
            admin.access_token, verifier.key, algorithms=["RS256"], audience="omniroute-api"
        )["sub"] == (admin.user_id)

        # Key confusion: HS256 keyed with the public key that anyone can download.
        signing_input = f"{b64json({'alg': 'HS256', 'typ': 'JWT', 'kid': header['kid']})}."
        signing_input += b64json(claims_of(admin.access_token))
        mac = hmac.new(public.read_bytes(), signing_input.encode(), hashlib.sha256).digest()
        await assert_refused(client, bearer(f"{signing_input}.{b64url(mac)}"))
        unsigned = f"{b64json({'alg': 'none'})}.{b64json(claims_of(admin.access_token))}."
        await assert_refused(client, bearer(unsigned))


# --- refresh-token families -----------------------------------------------------------------


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def families(conn: asyncpg.Connection, workspace_id: str) -> list[asyncpg.Record]:
    return await tenant_rows(
        conn,
        workspace_id,
        "SELECT id, user_id, revoked_at, revoked_reason FROM refresh_token_families",
    )


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    second = await refresh(client, admin.refresh_token)
    assert second.status_code == 200
    third = await refresh(client, second.json()["data"]["refresh_token"])
    assert third.status_code == 200
    newest = third.json()["data"]["refresh_token"]

    # The first token's successor was used: presenting it again is theft.
    stolen = await refresh(client, admin.refresh_token)
    assert stolen.status_code == 401
    assert stolen.json()["error"]["code"] == "UNAUTHORIZED"
    assert "reuse" in stolen.json()["error"]["message"]
    # The legitimate holder's newest token dies with the family.
    after = await refresh(client, newest)
    assert after.status_code == 401

    [family] = await families(owner_conn, admin.workspace_id)
    assert family["revoked_at"] is not None
    assert family["revoked_reason"] == "reuse_detected"
    audit = await tenant_rows(
        owner_conn,
        admin.workspace_id,
        "SELECT resource_id FROM audit_logs WHERE action = 'session.reuse_detected'",
    )
    assert [r["resource_id"] for r in audit] == [family["id"]]
    # Other sessions of the same user live on.
    assert (await login(client, admin.email)).status_code == 200


def bearer_of(response: httpx.Response) -> dict[str, str]:
    return {"Authorization": f"Bearer {response.json()['data']['access_token']}"}


async def renewed_and_another_device(
    client: httpx.AsyncClient,
) -> tuple[Session, httpx.Response, httpx.Response]:
    """A new account whose login was refreshed once, and the same account on another device."""
    admin = await register(client)
    renewed = await refresh(client, admin.refresh_token)
    other_device = await login(client, admin.email)
    assert renewed.status_code == other_device.status_code == 200
    return admin, renewed, other_device


async def test_reuse_refuses_every_access_token_the_family_issued(
    client: httpx.AsyncClient,
) -> None:
    """A thief's access token, obtained with the stolen refresh token, dies with the family."""
    admin, second, other_device = await renewed_and_another_device(client)
    third = await refresh(client, second.json()["data"]["refresh_token"])
    for issued in (second, third, other_device):
        assert issued.status_code == 200
        assert (await client.get(ME, headers=bearer_of(issued))).status_code == 200

    assert (await refresh(client, admin.refresh_token)).status_code == 401  # reuse
    for headers in (admin.headers, bearer_of(second), bearer_of(third)):
        await assert_refused(client, headers)
    assert (await client.get(ME, headers=bearer_of(other_device))).status_code == 200


async def test_logout_refuses_every_access_token_of_the_session(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin, renewed, other_device = await renewed_and_another_device(client)
    out = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": renewed.json()["data"]["refresh_token"]},
        headers=bearer_of(renewed),
    )
    assert out.status_code == 200
    # The token from before the refresh too, not only the one that logged out.
    await assert_refused(client, admin.headers)
    await assert_refused(client, bearer_of(renewed))
    assert (await client.get(ME, headers=bearer_of(other_device))).status_code == 200
    reasons = sorted(
        str(f["revoked_reason"]) for f in await families(owner_conn, admin.workspace_id)
    )
    assert reasons == ["None", "logout"]


async def test_logout_without_a_refresh_token_ends_the_tokens_own_session(
    client: httpx.AsyncClient,
) -> None:
    admin, renewed, other_device = await renewed_and_another_device(client)
    assert (await client.post("/api/v1/auth/logout", headers=admin.headers)).status_code == 200
    # The session's other access token and its refresh token end with the one presented.
    await assert_refused(client, bearer_of(renewed))
    assert (await refresh(client, renewed.json()["data"]["refresh_token"])).status_code == 401
    other = other_device.json()["data"]
    assert (await client.get(ME, headers=bearer_of(other_device))).status_code == 200
    assert (await refresh(client, other["refresh_token"])).status_code == 200


async def test_a_password_change_ends_every_session_at_once(client: httpx.AsyncClient) -> None:
    """Whoever holds a token of any session, the one making the change included, is out."""
    admin, renewed, other_device = await renewed_and_another_device(client)
    changed = await client.patch(
        ME,
        json={"password": "another long passphrase", "current_password": PASSWORD},
        headers=bearer_of(renewed),
    )
    assert changed.status_code == 200
    for headers in (admin.headers, bearer_of(renewed), bearer_of(other_device)):
        await assert_refused(client, headers)
    refresh_tokens = [r.json()["data"]["refresh_token"] for r in (renewed, other_device)]
    for token in refresh_tokens:
        assert (await refresh(client, token)).status_code == 401
    assert (await login(client, admin.email)).status_code == 401
    again = await login(client, admin.email, "another long passphrase")
    assert (await client.get(ME, headers=bearer_of(again))).status_code == 200


async def test_a_refresh_of_an_ended_session_denies_its_tokens_again(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    """Should the denylist lose a session's entry, the next refresh with it writes it back."""
    admin, renewed, _ = await renewed_and_another_device(client)
    assert (await client.post("/api/v1/auth/logout", headers=admin.headers)).status_code == 200
    for key in await redis.keys("denylist:sid:*"):
        await redis.delete(key)
    assert (await client.get(ME, headers=bearer_of(renewed))).status_code == 200  # lost
    assert (await refresh(client, renewed.json()["data"]["refresh_token"])).status_code == 401
    await assert_refused(client, bearer_of(renewed))


async def test_a_rotated_token_presented_again_before_its_successor_is_only_refused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Two tabs refreshing at once is a race, not theft (within the grace window)."""
    admin = await register(client)
    successor = await refresh(client, admin.refresh_token)
    assert successor.status_code == 200
    assert (await refresh(client, admin.refresh_token)).status_code == 401
    [family] = await families(owner_conn, admin.workspace_id)
    assert family["revoked_at"] is None
    assert (await refresh(client, successor.json()["data"]["refresh_token"])).status_code == 200


async def test_concurrent_refreshes_of_one_token_leave_one_usable_successor(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    responses = await asyncio.gather(
        refresh(client, admin.refresh_token), refresh(client, admin.refresh_token)
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401]
    [winner] = [r for r in responses if r.status_code == 200]

    [family] = await families(owner_conn, admin.workspace_id)
    assert family["revoked_at"] is None
    live = await tenant_rows(
        owner_conn,
        admin.workspace_id,
        "SELECT family_id FROM refresh_tokens WHERE rotated_at IS NULL",
    )
    assert [r["family_id"] for r in live] == [family["id"]]
    # The successor handed out still refreshes.
    assert (await refresh(client, winner.json()["data"]["refresh_token"])).status_code == 200


async def test_graphql_logout_kills_the_access_token_and_the_refresh_family(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    assert (await gql(client, GQL_ME, session=admin))["data"]["me"]["user"]["id"] == admin.user_id
    out = await gql(
        client,
        "mutation($rt: String!) { logout(refreshToken: $rt) { ... on Done { ok } } }",
        {"rt": admin.refresh_token},
        session=admin,
    )
    assert out == {"data": {"logout": {"ok": True}}}
    await assert_refused(client, admin.headers)
    assert (await refresh(client, admin.refresh_token)).status_code == 401
    [family] = await families(owner_conn, admin.workspace_id)
    assert family["revoked_reason"] == "logout"


async def test_rest_logout_revokes_the_family_in_the_database(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    out = await client.post(
        "/api/v1/auth/logout", json={"refresh_token": admin.refresh_token}, headers=admin.headers
    )
    assert out.status_code == 200
    [family] = await families(owner_conn, admin.workspace_id)
    assert family["revoked_at"] is not None
    assert family["revoked_reason"] == "logout"
    await assert_refused(client, admin.headers)


async def test_another_users_refresh_token_cannot_log_them_out(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    colleague = await member(client, admin, "operator")
    stranger = await register(client, organization="Other Freight")
    rest = await client.post(
        "/api/v1/auth/logout",
        json={"refresh_token": admin.refresh_token},
        headers=colleague.headers,
    )
    assert rest.status_code == 401
    assert rest.json()["error"]["code"] == "UNAUTHORIZED"
    graphql = await gql(
        client,
        "mutation($rt: String!) { logout(refreshToken: $rt) { ... on Done { ok } } }",
        {"rt": admin.refresh_token},
        session=stranger,
    )
    assert error_code(graphql) == "UNAUTHORIZED"

    assert all(f["revoked_at"] is None for f in await families(owner_conn, admin.workspace_id))
    assert (await client.get(ME, headers=admin.headers)).status_code == 200
    assert (await refresh(client, admin.refresh_token)).status_code == 200


# --- password guessing ----------------------------------------------------------------------


def _assert_throttled(response: httpx.Response, retry_after: int) -> None:
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert response.headers["Retry-After"] == str(retry_after)


async def test_failed_logins_back_off_exponentially_and_guard_the_right_password(
    app_with: AppWith,
) -> None:
    async with app_with(login_free_failures_per_account=2) as client:
        admin = await register(client)
        for _ in range(2):
            assert (await login(client, admin.email, "wrong password")).status_code == 401
        # Even the right password is not checked while the account waits.
        _assert_throttled(await login(client, admin.email), retry_after=2)
        await asyncio.sleep(2.05)
        assert (await login(client, admin.email, "wrong password")).status_code == 401
        _assert_throttled(await login(client, admin.email, "wrong password"), retry_after=4)


async def test_login_throttle_is_never_a_lock_out(
    app_with: AppWith,
) -> None:
    async with app_with(login_free_failures_per_account=2, login_max_delay_s=1) as client:
        admin = await register(client)
        for _ in range(2):
            assert (await login(client, admin.email, "wrong password")).status_code == 401
        throttled = await login(client, admin.email)
        _assert_throttled(throttled, retry_after=1)
        await asyncio.sleep(int(throttled.headers["Retry-After"]) + 0.05)
        assert (await login(client, admin.email)).status_code == 200
        # A success forgets the failures: the next mistake is free again.
        assert (await login(client, admin.email, "wrong password")).status_code == 401
        assert (await login(client, admin.email)).status_code == 200


async def test_ip_throttle_spans_different_emails(
    app_with: AppWith,
) -> None:
    async with app_with(login_free_failures_per_ip=3) as client:
        admin = await register(client)
        for n in range(3):
            wrong = await login(client, f"guess-{n}@example.com", "wrong password")
            assert wrong.status_code == 401
        throttled = await login(client, admin.email)
        assert throttled.status_code == 429
        assert throttled.json()["error"]["details"]["scope"] == "login ip"
        assert int(throttled.headers["Retry-After"]) >= 1
    async with app_with(login_free_failures_per_ip=3, ip="198.51.100.23") as elsewhere:
        assert (await login(elsewhere, admin.email)).status_code == 200


async def test_unknown_email_and_wrong_password_are_indistinguishable(
    app_with: AppWith,
) -> None:
    async with app_with(login_free_failures_per_account=2) as client:
        admin = await register(client)
        mutation = (
            "mutation($e: String!, $p: String!) { login(input: {email: $e, password: $p}) {"
            " ... on AuthPayload { accessToken } } }"
        )
        known = await gql(client, mutation, {"e": admin.email, "p": "wrong!"})
        unknown = await gql(client, mutation, {"e": "nobody@example.com", "p": "wrong!"})
        assert known["errors"][0]["extensions"] == unknown["errors"][0]["extensions"]
        assert known["errors"][0]["message"] == unknown["errors"][0]["message"]
        # Throttling does not tell them apart either.
        await login(client, admin.email, "wrong password")
        await login(client, "nobody@example.com", "wrong password")
        known_429 = await login(client, admin.email, "wrong password")
        unknown_429 = await login(client, "nobody@example.com", "wrong password")
        assert known_429.status_code == unknown_429.status_code == 429
        assert known_429.json()["error"] == unknown_429.json()["error"]


# --- audit trail and events -----------------------------------------------------------------


async def test_identity_mutations_write_audit_rows(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    ws = admin.workspace_id
    assert (await login(client, admin.email)).status_code == 200
    patched = await client.patch(ME, json={"full_name": "Ada A."}, headers=admin.headers)
    assert patched.status_code == 200
    created = await client.post(
        "/api/v1/workspaces", json={"name": "Nights", "region": "eu-west"}, headers=admin.headers
    )
    assert created.status_code == 201
    renamed = await client.patch(
        f"/api/v1/workspaces/{ws}", json={"name": "Days"}, headers=admin.headers
    )
    assert renamed.status_code == 200
    joined = await member(client, admin, "driver")
    deleted = await client.delete(f"/api/v1/workspaces/{ws}", headers=admin.headers)
    assert deleted.status_code == 200

    rows = await tenant_rows(
        owner_conn,
        ws,
        "SELECT action, user_id::text, resource_type, resource_id::text, host(ip_address)"
        " FROM audit_logs ORDER BY created_at",
    )
    assert [tuple(r)[:4] for r in rows] == [
        ("organization.registered", admin.user_id, "organization", admin.organization_id),
        ("user.login", admin.user_id, "user", admin.user_id),
        ("user.profile_updated", admin.user_id, "user", admin.user_id),
        ("workspace.updated", admin.user_id, "workspace", ws),
        ("member.invited", admin.user_id, "user", joined.user_id),
        ("member.joined", joined.user_id, "user", joined.user_id),
        ("workspace.deleted", admin.user_id, "workspace", ws),
    ]
    assert {r["host"] for r in rows} == {CLIENT_IP}

    new_ws = created.json()["data"]["id"]
    [creation] = await tenant_rows(
        owner_conn,
        new_ws,
        "SELECT a.action, a.resource_id::text, u.email FROM audit_logs a"
        " JOIN users u ON u.id = a.user_id",
    )
    assert tuple(creation) == ("workspace.created", new_ws, admin.email)


async def test_login_is_published_on_its_stream_in_the_event_envelope(
    client: httpx.AsyncClient, redis: Redis
) -> None:
    admin = await register(client)
    assert await redis.xlen("events:user.login") == 0
    assert (await login(client, admin.email)).status_code == 200
    assert (await login(client, admin.email, "wrong password")).status_code == 401
    # The API's outbox relay publishes it.
    entries = await eventually(lambda: redis.xrange("events:user.login"), bool)
    assert len(entries) == 1
    envelope = json.loads(entries[0][1][b"event"])
    # Exactly the spec's envelope: nothing missing, nothing extra.
    assert Event.from_envelope(envelope).envelope() == envelope
    assert envelope["event_type"] == "user.login"
    assert envelope["workspace_id"] == admin.workspace_id
    assert envelope["actor_id"] == admin.user_id
    assert envelope["data"] == {"ip_address": CLIENT_IP}
    assert envelope["version"] == 1
    assert envelope["timestamp"].endswith("Z")


async def test_parallel_guesses_are_throttled_like_serial_ones(
    app_with: AppWith,
) -> None:
    async with app_with(login_free_failures_per_account=2) as client:
        admin = await register(client)
        guesses = await asyncio.gather(
            *(login(client, admin.email, f"guess number {n}") for n in range(10))
        )
        statuses = sorted(r.status_code for r in guesses)
        # As many passwords are checked as one after another: the free failures.
        assert statuses == [401] * 2 + [429] * 8


async def test_hot_reads_see_a_membership_change_at_once(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The vehicle reads check membership and role in the statement opening their own
    transaction: a role change, suspension or workspace deletion committed just before
    applies to the very next read (no cached answer to wait out)."""
    admin = await register(client)
    created = await client.post(
        "/api/v1/vehicles",
        json={"vehicle_type": "van", "plate_number": "HOT-1"},
        headers=admin.headers,
    )
    one, many = f"/api/v1/vehicles/{created.json()['data']['id']}", "/api/v1/vehicles"
    user_id = uuid.UUID(admin.user_id)

    async def set_user(assignment: str) -> None:
        sql = f"UPDATE users SET {assignment} WHERE id = $1"
        await tenant_rows(owner_conn, admin.workspace_id, sql, user_id)

    async def statuses() -> tuple[int, int]:
        got = await client.get(one, headers=admin.headers)
        listed = await client.get(many, headers=admin.headers)
        return got.status_code, listed.status_code

    assert await statuses() == (200, 200)
    # The token still says admin; the database's role decides.
    await set_user("role = 'viewer'")
    denied = await client.get(many, headers=admin.headers)
    assert denied.status_code == 403
    assert denied.json()["error"]["message"] == "The viewer role may not perform vehicle.list"
    await set_user("role = 'driver'")
    assert (await client.get(one, headers=admin.headers)).status_code == 403
    await set_user("role = 'operator'")
    assert await statuses() == (200, 200)
    await set_user("status = 'suspended'")
    assert await statuses() == (401, 401)
    await set_user("status = 'active'")
    assert await statuses() == (200, 200)
    await tenant_rows(
        owner_conn,
        admin.workspace_id,
        "UPDATE workspaces SET deleted_at = now() WHERE id = $1",
        uuid.UUID(admin.workspace_id),
    )
    assert await statuses() == (401, 401)
