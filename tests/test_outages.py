"""Backing services failing under a running API and worker: Redis stopped and started
again, every PostgreSQL connection of the application cut. Requests that cannot be served
fail quickly in the envelope; nothing is half written; everything works again afterwards
without restarting a process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from httpx_ws import aconnect_ws

from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.helpers import Session, register
from tests.routing_helpers import city, make_vehicle, route_body, start_worker
from tests.served_app import free_port, served_app

VAN = {"vehicle_type": "van", "capacity_kg": 500}


class PrivateRedis:
    """A redis-server of the test's own on a free port, persisted to an append-only file so
    that a restart keeps what was committed to it."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--dir", str(self.directory), "--appendonly", "yes", "--save", ""),
            ],
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        if server.process is not None and server.process.poll() is None:
            server.stop()


async def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


async def until(predicate: Any, within_s: float, what: str) -> None:
    deadline = time.monotonic() + within_s
    while not await predicate():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def live_map(http: httpx.AsyncClient, who: Session) -> AsyncIterator[Any]:
    async with aconnect_ws(f"/ws/tracking?token={who.access_token}", http) as ws:
        await asyncio.sleep(0.3)
        yield ws


async def moved(
    http: httpx.AsyncClient, ws: Any, who: Session, van: str, lng: float, wait_s: float = 15
) -> None:
    """Report a position for `van` (now) and see it arrive on the live map."""
    body = {"vehicle_id": van, "lng": lng, "lat": 12.95}
    posted = await http.post("/api/v1/tracking/update", json=body, headers=who.headers)
    assert posted.status_code == 201, posted.text
    while True:
        message = json.loads(await ws.receive_text(timeout=wait_s))
        if message.get("type") == "vehicle_moved" and message["position"][0] == lng:
            return


async def resumed(http: httpx.AsyncClient, ws: Any, who: Session, van: str) -> bool:
    try:
        await moved(http, ws, who, van, 77.56, wait_s=1)
    except TimeoutError:
        return False
    return True


async def test_redis_stopped_and_started_again(
    database: DatabaseUnderTest, private_redis: PrivateRedis
) -> None:
    env = {"REDIS_URL": private_redis.url}
    worker = start_worker(database.owner_url, env=env)
    try:
        async with served_app(database.owner_url, private_redis.url) as api:
            http = api.http
            admin = await register(http)
            h = admin.headers
            van = await make_vehicle(http, admin, "RS-1")
            async with live_map(http, admin) as ws:
                await moved(http, ws, admin, van, 77.55)

                private_redis.stop()

                async def redis_named_down() -> bool:
                    ready = await http.get("/health/ready")
                    return ready.status_code == 503 and "redis" in ready.json()["down"]

                await until(redis_named_down, 10, "/health/ready did not name Redis")
                # A read needs no Redis: the token's signature and the membership suffice.
                read, took = await timed(http.get("/api/v1/vehicles", headers=h))
                assert read.status_code == 200, read.text
                assert [v["id"] for v in read.json()["data"]] == [van]
                # A write (and a login) needs Redis: 503 in the envelope, at once.
                for call in (
                    http.post("/api/v1/vehicles", json={**VAN, "plate_number": "RS-2"}, headers=h),
                    http.post(
                        "/api/v1/auth/login",
                        json={"email": admin.email, "password": "correct horse battery staple"},
                    ),
                ):
                    refused, took = await timed(call)
                    assert refused.status_code == 503, refused.text
                    error = refused.json()["error"]
                    assert error["code"] == "SERVICE_UNAVAILABLE"
                    assert error["details"] == {"service": "redis"}
                    assert refused.headers["retry-after"] == "5"
                    assert took < 5
                mutation = await http.post(
                    "/graphql",
                    json={
                        "query": "mutation($i: VehicleInput!) { createVehicle(input: $i) {"
                        " __typename } }",
                        "variables": {
                            "i": {"vehicleType": "VAN", "plateNumber": "RS-3", "capacityKg": 500}
                        },
                    },
                    headers=h,
                )
                codes = {e["extensions"]["code"] for e in mutation.json().get("errors", [])}
                assert codes == {"SERVICE_UNAVAILABLE"}, mutation.text
                assert "Traceback" not in mutation.text

                private_redis.start()

                async def ready() -> bool:
                    return (await http.get("/health/ready")).status_code == 200

                await until(ready, 20, "/health/ready did not recover")
                created = await http.post(
                    "/api/v1/vehicles", json={**VAN, "plate_number": "RS-2"}, headers=h
                )
                assert created.status_code == 201, created.text
                # The same live-map socket, opened before the outage, gets positions again
                # once the API has subscribed anew (what is published before is lost: Redis
                # pub/sub keeps nothing).
                await until(
                    lambda: resumed(http, ws, admin, van),
                    30,
                    "the live map did not resume",
                )

            # The worker, never restarted, takes jobs again.
            depot, customers = await city(http, admin)
            route = await http.post(
                "/api/v1/routes", json=route_body(depot, customers[:4], van), headers=h
            )
            done = await http.post(
                f"/api/v1/routes/{route.json()['data']['id']}/optimize?wait=60", headers=h
            )
            assert done.status_code == 200, done.text
            assert done.json()["data"]["route"]["status"] == "optimized"
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def _rows(conn: asyncpg.Connection, workspace: str, sql: str) -> list[Any]:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace)
        return list(await conn.fetch(sql))


@pytest.fixture
async def busy_client(database: DatabaseUnderTest, redis: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The app with rate limits out of the way of a burst of traffic."""
    settings = settings_for(
        database.name, rate_limit_user_per_min=100_000, rate_limit_workspace_per_min=100_000
    )
    application, lifespan = await start_app(settings)
    try:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_every_application_connection_cut_while_requests_run(
    busy_client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    client = busy_client
    admin = await register(client)
    h = admin.headers
    outcomes: list[tuple[str, int, dict[str, Any]]] = []
    plates = iter(range(10_000))
    stop = asyncio.Event()

    async def traffic() -> None:
        while not stop.is_set():
            plate = f"PG-{next(plates)}"
            write = client.post("/api/v1/vehicles", json={**VAN, "plate_number": plate}, headers=h)
            for kind, call in (("write", write), ("read", None)):
                response = await (
                    call if call is not None else client.get("/api/v1/vehicles", headers=h)
                )
                outcomes.append((kind, response.status_code, response.json()))

    workers = [asyncio.create_task(traffic()) for _ in range(4)]
    await asyncio.sleep(0.5)
    cut = 0
    for _ in range(3):  # the pool refills: cut what it opened again, three times
        cut += await owner_conn.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND usename = 'omniroute_app'"
        )
        await asyncio.sleep(0.3)
    await asyncio.sleep(0.5)
    stop.set()
    await asyncio.gather(*workers)
    assert cut > 0

    statuses = {status for _, status, _ in outcomes}
    assert statuses <= {200, 201, 503}, [o for o in outcomes if o[1] not in (200, 201, 503)]
    for _, status, body in outcomes:
        if status == 503:
            assert body["error"]["code"] == "SERVICE_UNAVAILABLE"
            assert body["error"]["details"] == {"service": "database"}

    # The pool recovered by itself: everything succeeds again.
    for _ in range(10):
        assert (await client.get("/api/v1/vehicles", headers=h)).status_code == 200
    again = await client.post("/api/v1/vehicles", json={**VAN, "plate_number": "PG-OK"}, headers=h)
    assert again.status_code == 201, again.text

    # Nothing half written: every vehicle stored has its audit row and its event, and every
    # vehicle the API said it created is stored.
    ws = admin.workspace_id
    stored = {r["id"] for r in await _rows(owner_conn, ws, "SELECT id FROM vehicles")}
    audited = {
        r["resource_id"]
        for r in await _rows(
            owner_conn, ws, "SELECT resource_id FROM audit_logs WHERE action = 'vehicle.created'"
        )
    }
    evented = {
        r["entity_id"]
        for r in await _rows(
            owner_conn,
            ws,
            "SELECT entity_id FROM analytics_events WHERE event_type = 'vehicle.created'",
        )
    }
    assert stored == audited == evented
    acknowledged = {
        uuid.UUID(body["data"]["id"])
        for kind, status, body in outcomes
        if kind == "write" and status == 201
    }
    assert acknowledged <= stored
