"""The documented single-process mode (no Redis) runs the same flows on in-memory stores."""

from __future__ import annotations

import httpx

from core.events import InMemoryBus
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.events_helpers import eventually
from tests.helpers import login, register
from tests.routing_helpers import city, route_body
from tests.served_app import served_app


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
        logins = await eventually(lambda: bus.read("user.login"), bool)
        assert [str(e.actor_id) for e in logins] == [admin.user_id]
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_a_whole_optimization_runs_on_the_in_process_worker(
    database: DatabaseUnderTest,
) -> None:
    """`python app.py` without Redis: the job runs on a worker thread of the API process,
    and the second identical request is answered from the in-memory cache."""
    answers = []
    async with served_app(database.owner_url, "memory://") as server:
        client = server.http
        admin = await register(client)
        depot, customers = await city(client, admin)
        for _ in range(2):
            created = await client.post(
                "/api/v1/routes",
                json=route_body(depot, customers[:4], None),
                headers=admin.headers,
            )
            route_id = created.json()["data"]["id"]
            optimized = await client.post(
                f"/api/v1/routes/{route_id}/optimize?wait=20", headers=admin.headers
            )
            assert optimized.status_code == 200, optimized.text
            answers.append(optimized.json()["data"])
    assert [a["job"]["cached"] for a in answers] == [False, True]
    assert all(a["route"]["status"] == "optimized" for a in answers)
