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


async def test_a_whole_optimization_runs_on_the_in_process_worker(
    database: DatabaseUnderTest,
) -> None:
    """`python app.py` without Redis: the job runs on a worker thread of the API process,
    and the second identical request is answered from the in-memory cache."""
    import asyncio
    import os
    import socket
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT
    from tests.routing_helpers import city, route_body

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database.owner_url,
        "REDIS_URL": "memory://",
        "ENVIRONMENT": "test",
        "PORT": str(port),
    }
    server = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the single-process app did not start"
                await asyncio.sleep(0.2)
            admin = await register(client)
            depot, customers = await city(client, admin)
            answers = []
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
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert [a["job"]["cached"] for a in answers] == [False, True]
    assert all(a["route"]["status"] == "optimized" for a in answers)
