"""Personal data encrypted at rest: the database holds ciphertext (and audit rows and events
hold nothing of it), the API answers as before, licence numbers are found through their
keyed hash, keys rotate without downtime, and outside development a missing key refuses
to start."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid

import asyncpg
import httpx
import pytest
from pydantic import ValidationError

from core.crypto import DEV_INDEX_KEY, DEV_KEYS
from core.settings import Settings
from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import member, register
from tests.served_app import served_app

TABLES = ("users", "drivers", "locations", "audit_logs", "analytics_events")


async def _everything(conn: asyncpg.Connection, workspace: str) -> str:
    """Every row of the tables with personal data, audit rows and events, as the owner."""
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace)
        dumps = [
            await conn.fetchval(f"SELECT coalesce(json_agg(t)::text, '') FROM {table} t")
            for table in TABLES
        ]
    return "\n".join(dumps)


async def _stored(conn: asyncpg.Connection, workspace: str, sql: str) -> list[str]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace)
        return [r[0] for r in await conn.fetch(sql)]


async def _people(client: httpx.AsyncClient, marker: str) -> tuple[object, dict[str, str]]:
    admin = await register(client)
    h = admin.headers
    renamed = await client.patch(
        "/api/v1/auth/me", json={"full_name": f"Zelda {marker}"}, headers=h
    )
    assert renamed.status_code == 200, renamed.text
    driver_user = await member(client, admin, "driver")
    created = await client.post(
        "/api/v1/drivers",
        json={
            "user_id": driver_user.user_id,
            "license_number": f"LIC-{marker}",
            "phone": f"+91 {marker}",
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    place = await client.post(
        "/api/v1/locations",
        json={
            "name": "Warehouse",
            "geo": {"lng": 77.6, "lat": 12.9},
            "location_type": "warehouse",
            "contact_info": {"name": f"Mo {marker}", "phone": f"+91 {marker}9"},
        },
        headers=h,
    )
    assert place.status_code == 201, place.text
    ids = {"driver": created.json()["data"]["id"], "location": place.json()["data"]["id"]}
    return admin, ids


async def test_the_database_holds_no_plaintext_and_the_api_answers_as_before(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    marker = uuid.uuid4().hex[:10]
    admin, ids = await _people(client, marker)
    h = admin.headers  # type: ignore[attr-defined]

    me = (await client.get("/api/v1/auth/me", headers=h)).json()["data"]
    assert me["user"]["full_name"] == f"Zelda {marker}"
    driver = (await client.get(f"/api/v1/drivers/{ids['driver']}", headers=h)).json()["data"]
    assert (driver["license_number"], driver["phone"]) == (f"LIC-{marker}", f"+91 {marker}")
    place = (await client.get(f"/api/v1/locations/{ids['location']}", headers=h)).json()["data"]
    assert place["contact_info"] == {"name": f"Mo {marker}", "phone": f"+91 {marker}9"}

    # As the owner, in every table and every audit row and event: no trace of it.
    workspace = admin.workspace_id  # type: ignore[attr-defined]
    assert marker not in await _everything(owner_conn, workspace)
    phones = await _stored(owner_conn, workspace, "SELECT phone FROM drivers")
    assert all(p.startswith("enc:1:dev:") for p in phones)

    # Equality through the keyed hash, as typed by a person (case, spaces).
    for query, expected in ((f" lic-{marker} ", 1), ("LIC-other", 0)):
        found = await client.get("/api/v1/drivers", params={"license_number": query}, headers=h)
        assert found.status_code == 200, found.text
        assert len(found.json()["data"]) == expected


def _rotate(database: DatabaseUnderTest, env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "scripts/pii_keys.py", "rotate"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database.owner_url, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


async def test_keys_rotate_while_the_api_reads_and_writes(
    client: httpx.AsyncClient, database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    marker = uuid.uuid4().hex[:10]
    admin, ids = await _people(client, marker)
    workspace = admin.workspace_id  # type: ignore[attr-defined]
    new_key = f"k2:{base64.b64encode(os.urandom(32)).decode()}"
    both = {"PII_KEYS": f"{DEV_KEYS},{new_key}", "PII_INDEX_KEY": DEV_INDEX_KEY}
    only_new = {"PII_KEYS": new_key, "PII_INDEX_KEY": DEV_INDEX_KEY}

    # Both keys configured, the new one active: old values read, new ones written under k2.
    async with served_app(database.owner_url, TEST_REDIS_URL, env=both) as api:
        login = await api.http.post(
            "/api/v1/auth/login",
            json={"email": admin.email, "password": "correct horse battery staple"},  # type: ignore[attr-defined]
        )
        h = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        driver = await api.http.get(f"/api/v1/drivers/{ids['driver']}", headers=h)
        assert driver.json()["data"]["phone"] == f"+91 {marker}"
        assert "users: " in _rotate(database, both)
        # Everything is under k2 now: a second run has nothing to rewrite.
        again = _rotate(database, both)
        assert all(f"{t}: 0 rows" in again for t in ("users", "drivers", "locations")), again
    stored = await _stored(
        owner_conn,
        workspace,
        "SELECT phone FROM drivers UNION ALL SELECT license_number FROM drivers"
        " UNION ALL SELECT full_name FROM users UNION ALL SELECT contact_info FROM locations",
    )
    assert stored and all(v.startswith("enc:1:k2:") for v in stored)

    # The old key removed: everything still reads.
    async with served_app(database.owner_url, TEST_REDIS_URL, env=only_new) as api:
        login = await api.http.post(
            "/api/v1/auth/login",
            json={"email": admin.email, "password": "correct horse battery staple"},  # type: ignore[attr-defined]
        )
        h = {"Authorization": f"Bearer {login.json()['data']['access_token']}"}
        driver = (await api.http.get(f"/api/v1/drivers/{ids['driver']}", headers=h)).json()
        assert driver["data"]["license_number"] == f"LIC-{marker}"
        place = (await api.http.get(f"/api/v1/locations/{ids['location']}", headers=h)).json()
        assert place["data"]["contact_info"]["name"] == f"Mo {marker}"
        me = (await api.http.get("/api/v1/auth/me", headers=h)).json()
        assert me["data"]["user"]["full_name"] == f"Zelda {marker}"


def test_outside_development_a_missing_key_refuses_to_start() -> None:
    strong = "s" * 48
    with pytest.raises(ValidationError, match="PII_KEYS"):
        Settings(environment="production", jwt_secret=strong)  # type: ignore[arg-type]
    keyed = Settings(
        environment="production",  # type: ignore[arg-type]
        jwt_secret=strong,  # type: ignore[arg-type]
        pii_keys=f"k1:{base64.b64encode(os.urandom(32)).decode()}",  # type: ignore[arg-type]
        pii_index_key=base64.b64encode(os.urandom(32)).decode(),  # type: ignore[arg-type]
    )
    assert keyed.pii_cipher().active == "k1"
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings(
            environment="production",  # type: ignore[arg-type]
            jwt_secret=strong,  # type: ignore[arg-type]
            pii_keys="k1:c2hvcnQ=",  # type: ignore[arg-type]
            pii_index_key=base64.b64encode(os.urandom(32)).decode(),  # type: ignore[arg-type]
        )
