"""Two deployments (two databases, two APIs, two workers) on one Redis broker: each takes
only its own jobs, and a message for a job a worker's database does not hold is logged and
dead-lettered, never dropped in silence."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from pathlib import Path

import dramatiq
import httpx
from dramatiq.brokers.redis import RedisBroker
from redis.asyncio import Redis

from tests.conftest import TEST_REDIS_URL, DatabaseUnderTest, cloned_database
from tests.helpers import Session, register
from tests.routing_helpers import city, make_vehicle, route_body, start_worker
from tests.served_app import served_app

# Neither process is told a deployment name: each derives it from its database's name.
DERIVED = {"DEPLOYMENT_NAME": ""}
ROUTES_EACH = 3


async def _submit(http: httpx.AsyncClient, tag: str) -> tuple[Session, list[str]]:
    admin = await register(http)
    depot, customers = await city(http, admin)
    van = await make_vehicle(http, admin, f"{tag}-1")
    routes = []
    for i in range(ROUTES_EACH):
        body = route_body(depot, customers[i:] + customers[:i], van)
        created = await http.post("/api/v1/routes", json=body, headers=admin.headers)
        assert created.status_code == 201, created.text
        route_id = created.json()["data"]["id"]
        optimize = await http.post(f"/api/v1/routes/{route_id}/optimize", headers=admin.headers)
        assert optimize.status_code in (200, 202), optimize.text
        routes.append(route_id)
    return admin, routes


async def _statuses(http: httpx.AsyncClient, admin: Session, routes: list[str]) -> list[str]:
    response = await http.get("/api/v1/routes?per_page=100", headers=admin.headers)
    assert response.status_code == 200, response.text
    return sorted(r["status"] for r in response.json()["data"] if r["id"] in routes)


async def _dead_letters(redis: Redis, namespace: str) -> list[dict]:
    stored = await redis.hgetall(f"{namespace}:optimization.XQ.msgs")
    return [json.loads(raw) for raw in stored.values()]


async def test_two_deployments_on_one_redis_each_take_their_own_jobs_only(
    database: DatabaseUnderTest, migrated_template: str, redis: Redis, tmp_path: Path
) -> None:
    logs = {name: (tmp_path / f"{name}.log").open("wb") for name in ("a", "b")}
    async with cloned_database(migrated_template) as second:
        deployments = {"a": database, "b": second}
        workers = {
            name: start_worker(db.owner_url, env=DERIVED, stderr=logs[name])
            for name, db in deployments.items()
        }
        try:
            async with (
                served_app(database.owner_url, TEST_REDIS_URL, env=DERIVED) as api_a,
                served_app(second.owner_url, TEST_REDIS_URL, env=DERIVED) as api_b,
            ):
                apis = {"a": api_a.http, "b": api_b.http}
                submitted = {name: await _submit(http, name.upper()) for name, http in apis.items()}
                deadline = time.monotonic() + 120
                while True:
                    statuses = {
                        name: await _statuses(apis[name], *submitted[name]) for name in apis
                    }
                    if all(s == ["optimized"] * ROUTES_EACH for s in statuses.values()):
                        break
                    assert time.monotonic() < deadline, statuses
                    await asyncio.sleep(1)

            # Deployment a's worker is handed a job that only b could hold (or nobody).
            namespace = f"dramatiq:{database.name}"
            stray = str(uuid.uuid4())
            sender = RedisBroker(url=TEST_REDIS_URL, namespace=namespace)
            message: dramatiq.Message[object] = dramatiq.Message(
                queue_name="optimization",
                actor_name="optimize_route",
                args=(stray, str(uuid.uuid4())),
                kwargs={},
                options={},
            )
            await asyncio.to_thread(sender.enqueue, message)
            deadline = time.monotonic() + 60
            while not any(stray in m["args"] for m in await _dead_letters(redis, namespace)):
                assert time.monotonic() < deadline, "the stray message was not dead-lettered"
                await asyncio.sleep(0.2)
            # Nothing was dead-lettered in b's namespace: its worker never saw a's jobs.
            assert await _dead_letters(redis, f"dramatiq:{second.name}") == []
        finally:
            for process in workers.values():
                process.terminate()
                process.wait(timeout=30)
            for log in logs.values():
                log.close()
    log_a = (tmp_path / "a.log").read_text()
    assert f"job {stray} is not in this deployment's database ({database.name})" in log_a
    assert "Traceback" not in log_a
