"""The documented single-process mode (no Redis) runs the same flows on in-memory stores."""

from __future__ import annotations

import httpx

from core.events import InMemoryBus
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.helpers import login, register


async def test_auth_flow_and_events_without_redis(database: DatabaseUnderTest) -> None:
    app, lifespan = await start_app(settings_for(database.name, redis_url="memory://"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            admin = await register(client)
            tokens = (await login(client, admin.email)).json()["data"]
            headers = {"Authorization": f"Bearer {tokens['access_token']}"}
            assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 200
            out = await client.post(
                "/api/v1/auth/logout",
                json={"refresh_token": tokens["refresh_token"]},
                headers=headers,
            )
            assert out.status_code == 200
            assert (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401
        bus = app.state.db.bus
        assert isinstance(bus, InMemoryBus)
        logins = await bus.read("user.login")
        assert [str(e.actor_id) for e in logins] == [admin.user_id]
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
