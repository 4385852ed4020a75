"""Solving that goes wrong, through GraphQL and real workers: a plan no solver can price is
`OptimizationFailedError`, a quantum budget that runs out with fallback disabled is
`QuantumTimeoutError`, and a plan for stops the route no longer has is never saved. In
each case the route keeps its stops in their order and goes back to draft."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from services.roads.imports import import_network
from tests.conftest import DatabaseUnderTest
from tests.helpers import ERR, Session, gql, register
from tests.roads_helpers import VILLAGE_NODES, osm_xml, write_village
from tests.routing_helpers import CUSTOMERS, DEPOT, make_location, make_vehicle, route_body
from tests.routing_helpers import start_worker as start_routing_worker
from tests.test_quantum_service import NAMESPACE, QUANTUM_REDIS_URL, quantum_worker

__all__ = ["quantum_worker"]

OPTIMIZE = (
    "mutation($id: UUID!, $wait: Float!) { optimizeRoute(id: $id, wait: $wait) {"
    f" __typename ... on OptimizePayload {{ job {{ id status }} route {{ status }} }} {ERR} }} }}"
)
QUANTUM = (
    "mutation($input: QuantumOptimizeInput!) { quantumOptimize(input: $input, wait: 60) {"
    f" __typename ... on QuantumJob {{ id status }} {ERR} }} }}"
)
ROUTE = """query($id: UUID!) { route(id: $id) { status distanceKm optimizationScore
  stops { id stopOrder arrivalEta location { name } } path { segmentIndex } } }"""
JOB = "query($id: UUID!) { optimizationJob(id: $id) { status errorMessage } }"


async def _route(client: httpx.AsyncClient, who: Session, places: list[tuple[float, float]]) -> str:
    """A draft route from the first place (the depot) through the others, in that order."""
    depot = await make_location(client, who, "Depot", *places[0], "depot")
    stops = [
        await make_location(client, who, f"Stop {i}", lng, lat, "customer")
        for i, (lng, lat) in enumerate(places[1:], start=1)
    ]
    vehicle = await make_vehicle(client, who, f"VAN {uuid.uuid4().hex[:6]}")
    created = await client.post(
        "/api/v1/routes", json=route_body(depot, stops, vehicle), headers=who.headers
    )
    assert created.status_code == 201, created.text
    return str(created.json()["data"]["id"])


async def _seen(client: httpx.AsyncClient, who: Session, route_id: str) -> dict[str, Any]:
    body = await gql(client, ROUTE, {"id": route_id}, session=who)
    assert "errors" not in body, body
    return dict(body["data"]["route"])


async def _job_of(owner_conn: asyncpg.Connection, who: Session, route_id: str) -> uuid.UUID:
    """The route's optimization job, once the request has committed it."""
    for _ in range(200):
        async with owner_conn.transaction():
            await owner_conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", who.workspace_id
            )
            job_id = await owner_conn.fetchval(
                "SELECT id FROM optimization_jobs WHERE route_id = $1", uuid.UUID(route_id)
            )
        if job_id is not None:
            return uuid.UUID(str(job_id))
        await asyncio.sleep(0.05)
    raise AssertionError("the optimization job was never committed")


def _unchanged(before: dict[str, Any], after: dict[str, Any]) -> None:
    """The route is a draft with its stops in their order, and no plan written on it."""
    assert after["status"] == "DRAFT"
    assert after["stops"] == before["stops"]
    assert all(s["arrivalEta"] is None for s in after["stops"])
    assert after["path"] == [] and after["distanceKm"] == before["distanceKm"]
    assert after["optimizationScore"] == before["optimizationScore"]


async def test_a_plan_no_solver_can_price_is_optimization_failed_and_changes_nothing(
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    owner_conn: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    # The route is priced on the village's road network when it is submitted...
    await import_network(database.owner_dsn, write_village(tmp_path))
    admin = await register(client)
    route_id = await _route(client, admin, [VILLAGE_NODES[n] for n in (1, 4, 3, 2)])
    before = await _seen(client, admin, route_id)
    waiting = asyncio.create_task(
        gql(client, OPTIMIZE, {"id": route_id, "wait": 60}, session=admin)
    )
    job_id = await _job_of(owner_conn, admin, route_id)

    # ...and before a worker takes it, two newer networks of another place are imported:
    # the village's version is pruned and none of its stops lies on the active network.
    island = tmp_path / "island.osm"
    island.write_text(
        osm_xml(
            {1: (26.5000, 61.5000), 2: (26.5040, 61.5000)},
            [(10, [1, 2], {"highway": "residential"})],
        )
    )
    for name in ("island", "island, again"):
        await import_network(database.owner_dsn, island, name=name)
    worker = start_routing_worker(database.owner_url)
    try:
        body = await asyncio.wait_for(waiting, timeout=120)
    finally:
        worker.terminate()
        worker.wait(timeout=20)

    assert "errors" not in body, body
    failed = body["data"]["optimizeRoute"]
    assert failed["__typename"] == "OptimizationFailedError", failed
    assert failed["code"] == "OPTIMIZATION_FAILED"
    assert failed["details"]["job_id"] == str(job_id)
    assert "off the road network" in failed["details"]["error"]
    _unchanged(before, await _seen(client, admin, route_id))
    job = (await gql(client, JOB, {"id": str(job_id)}, session=admin))["data"]
    assert job["optimizationJob"]["status"] == "FAILED"


async def test_the_worker_does_not_save_a_plan_for_stops_the_route_no_longer_has(
    client: httpx.AsyncClient, database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    route_id = await _route(client, admin, [DEPOT, *CUSTOMERS[:5]])
    started = await gql(client, OPTIMIZE, {"id": route_id, "wait": 0}, session=admin)
    assert started["data"]["optimizeRoute"]["route"]["status"] == "OPTIMIZING", started
    job_id = started["data"]["optimizeRoute"]["job"]["id"]

    # Between the request and the worker's save, a stop leaves the route (written straight
    # to the database: the API refuses to edit a route being optimized).
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute(
            "DELETE FROM route_stops WHERE route_id = $1 AND stop_order = 3",
            uuid.UUID(route_id),
        )
    before = await _seen(client, admin, route_id)
    assert [s["stopOrder"] for s in before["stops"]] == [1, 2, 4, 5]

    worker = start_routing_worker(database.owner_url)
    try:
        job: dict[str, Any] = {}
        for _ in range(180):
            job = (await gql(client, JOB, {"id": job_id}, session=admin))["data"]["optimizationJob"]
            if job["status"] not in ("PENDING", "RUNNING"):
                break
            await asyncio.sleep(0.5)
    finally:
        worker.terminate()
        worker.wait(timeout=20)

    assert job["status"] == "FAILED", job
    assert job["errorMessage"] == (
        "OPTIMIZATION_FAILED: The route's stops changed while it was being optimized"
    )
    _unchanged({**before, "status": "DRAFT"}, await _seen(client, admin, route_id))

    # A draft again, the route is optimized as it now is.
    again = await gql(client, OPTIMIZE, {"id": route_id, "wait": 0}, session=admin)
    assert again["data"]["optimizeRoute"]["route"]["status"] == "OPTIMIZING", again


async def test_a_quantum_budget_run_out_without_fallback_is_a_quantum_timeout_error(
    client: httpx.AsyncClient, quantum_worker: None, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    route_id = await _route(client, admin, [DEPOT, *CUSTOMERS[:3]])
    before = await _seen(client, admin, route_id)
    # The wait below is for the job, not for the worker's start (Qiskit on a busy machine):
    # until a worker beats now (those of earlier tests left beats that no longer move).
    broker = Redis.from_url(QUANTUM_REDIS_URL)
    try:
        for _ in range(240):
            now_ms = (await broker.time())[0] * 1000
            beats = f"{NAMESPACE}:__heartbeats__"
            if await broker.zcount(beats, now_ms - 3000, "+inf"):
                break
            await asyncio.sleep(0.5)
    finally:
        await broker.aclose()
    body = await gql(
        client,
        QUANTUM,
        {
            "input": {
                "routeId": route_id,
                "timeoutS": 0.01,
                "allowFallback": False,
                "maxIterations": 20,
                "shots": 512,
            }
        },
        session=admin,
    )
    assert "errors" not in body, body
    late = body["data"]["quantumOptimize"]
    assert late["__typename"] == "QuantumTimeoutError", late
    assert late["code"] == "QUANTUM_TIMEOUT"
    job_id = uuid.UUID(late["details"]["job_id"])
    assert late["details"]["status"] == "timeout"

    # The job is `timeout` with its circuit run; the route was not touched.
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        job = await owner_conn.fetchrow(
            "SELECT status::text, error_message FROM optimization_jobs WHERE id = $1", job_id
        )
        runs = await owner_conn.fetch(
            "SELECT status::text FROM quantum_jobs WHERE optimization_job_id = $1", job_id
        )
    assert job["status"] == "timeout"
    assert job["error_message"].startswith("QUANTUM_TIMEOUT:")
    assert [r["status"] for r in runs] == ["timeout"]
    assert await _seen(client, admin, route_id) == before
