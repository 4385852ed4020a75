"""FORWARDED_ALLOW_IPS: a trusted proxy's X-Forwarded-For names the client in what the API
records (audit rows here; the per-IP login throttle reads the same address), any other
peer's header is ignored."""

from __future__ import annotations

import asyncpg
import pytest

from tests.conftest import TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import register
from tests.served_app import served_app

CLIENT = "203.0.113.9"


@pytest.mark.parametrize(
    ("trusted", "recorded"),
    [("127.0.0.1", CLIENT), ("192.0.2.1", "127.0.0.1")],
    ids=["trusted proxy", "untrusted peer"],
)
async def test_a_trusted_proxy_names_the_client_and_no_other_peer_does(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection, trusted: str, recorded: str
) -> None:
    # Spelled as the settings allow and uvicorn alone would not read: the settings hand it on.
    env = {"forwarded_allow_ips": trusted}
    async with served_app(database.owner_url, TEST_REDIS_URL, env=env) as server:
        server.http.headers["X-Forwarded-For"] = CLIENT
        admin = await register(server.http)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        addresses = await owner_conn.fetch("SELECT DISTINCT ip_address FROM audit_logs")
    assert [str(row["ip_address"]) for row in addresses] == [recorded]
