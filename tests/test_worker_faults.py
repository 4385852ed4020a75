"""A worker killed mid-solve: the broker delivers the message again, a second worker takes
the job over once its lease has run out, and the job ends with one result and one plan."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from typing import Any

import asyncpg
import httpx

from tests.conftest import DatabaseUnderTest
from tests.helpers import Session, register
from tests.processes import alive, command_line, descendants
from tests.routing_helpers import DEPOT, make_location, make_vehicle, start_worker

# Short enough for a test, long enough for a loaded machine: a silent worker is presumed
# dead after 5 s, a job's lease after 3 s.
FAST_RECOVERY = {"BROKER_HEARTBEAT_TIMEOUT_S": "5", "JOB_LEASE_S": "3"}
STOPS = 24  # beyond the exact solver: PyVRP searches for the whole time limit


async def long_solve(
    client: httpx.AsyncClient, admin: Session, *, time_limit_s: float
) -> tuple[str, str]:
    """A route of STOPS customers whose optimization runs for `time_limit_s`: (route, job)."""
    depot = await make_location(client, admin, "Depot", *DEPOT, "depot")
    customers = [
        await make_location(
            client, admin, f"C{i}", 77.50 + 0.02 * (i % 6), 12.90 + 0.02 * (i // 6), "customer"
        )
        for i in range(STOPS)
    ]
    van = await make_vehicle(client, admin, "SK-1", capacity_kg=5000)
    body: dict[str, Any] = {
        "name": "Long day",
        "vehicle_id": van,
        "depot_location_id": depot,
        "planned_start": "2030-03-01T06:00:00Z",
        "stops": [{"location_id": c, "load_kg": 10, "service_time_minutes": 2} for c in customers],
    }
    created = await client.post("/api/v1/routes", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    route = created.json()["data"]["id"]
    started = await client.post(
        f"/api/v1/routes/{route}/optimize",
        json={"time_limit_s": time_limit_s},
        headers=admin.headers,
    )
    assert started.status_code == 202, started.text
    return route, started.json()["data"]["job"]["id"]


async def job_state(client: httpx.AsyncClient, admin: Session, job: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/jobs/{job}", headers=admin.headers)
    assert response.status_code == 200, response.text
    return dict(response.json()["data"])


async def wait_for_job(
    client: httpx.AsyncClient, admin: Session, job: str, statuses: set[str], within_s: float
) -> dict[str, Any]:
    deadline = time.monotonic() + within_s
    while True:
        state = await job_state(client, admin, job)
        if state["status"] in statuses:
            return state
        assert time.monotonic() < deadline, f"job still {state['status']} after {within_s} s"
        await asyncio.sleep(0.5)


def worker_process(main: subprocess.Popen[bytes], within_s: float = 60) -> int:
    """The Dramatiq worker process that `dramatiq tasks.worker` forked."""
    deadline = time.monotonic() + within_s
    while True:
        children = [p for p in descendants(main.pid) if "dramatiq" in command_line(p)]
        if children:
            return children[0]
        assert time.monotonic() < deadline, "dramatiq forked no worker process"
        time.sleep(0.1)


async def count_rows(conn: asyncpg.Connection, workspace: str, sql: str, *args: object) -> int:
    async with conn.transaction():
        await conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace)
        return int(await conn.fetchval(sql, *args))


async def killed_mid_solve(
    http: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    database_url: str,
    env: dict[str, str],
) -> None:
    """The scenario on any broker: a worker SIGKILLed while it solves, a second one started;
    the job completes once, on the second, and the route has one plan."""
    admin = await register(http)
    first = start_worker(database_url, env=env)
    second = None
    try:
        route, job = await long_solve(http, admin, time_limit_s=8)
        await wait_for_job(http, admin, job, {"running"}, within_s=90)
        victim = worker_process(first)
        os.kill(victim, signal.SIGKILL)
        # Dramatiq's main process sees its worker die and exits too: the whole worker is gone.
        assert first.wait(timeout=60) != 0
        assert not alive(victim)
        assert (await job_state(http, admin, job))["status"] == "running"

        second = start_worker(database_url, env=env)
        # Documented bound: heartbeat timeout + lease + a worker's start + the solve itself.
        done = await wait_for_job(http, admin, job, {"completed", "timeout", "failed"}, 150)
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=60)

    assert done["status"] in ("completed", "timeout"), done
    assert done["attempts"] == 2
    detail = (await http.get(f"/api/v1/routes/{route}", headers=admin.headers)).json()["data"]
    assert detail["status"] == "optimized"
    assert len({s["stop_order"] for s in detail["stops"]}) == len(detail["stops"]) == STOPS
    ws = admin.workspace_id
    optimized_events = await count_rows(
        owner_conn,
        ws,
        "SELECT count(*) FROM analytics_events WHERE event_type = 'route.optimized'"
        " AND entity_id = $1::uuid",
        route,
    )
    assert optimized_events == 1
    assert await count_rows(owner_conn, ws, "SELECT count(*) FROM optimization_jobs") == 1
    stops = "SELECT count(*) FROM route_stops WHERE route_id = $1::uuid"
    assert await count_rows(owner_conn, ws, stops, route) == STOPS


async def test_a_worker_killed_mid_solve_loses_nothing_and_saves_one_plan(
    client: httpx.AsyncClient, database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    await killed_mid_solve(client, owner_conn, database.owner_url, FAST_RECOVERY)
