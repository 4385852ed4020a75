"""Quantum jobs end to end on a real worker, Aer and PostGIS: runs recorded, timeouts fall
back (or answer QUANTUM_TIMEOUT), caps refused, the IBM path in local testing mode."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import dramatiq
import httpx
import pytest
from dramatiq.brokers.redis import RedisBroker
from starlette.applications import Starlette

from core.settings import get_settings
from services.quantum.jobs import ACTOR, QUEUE
from tasks.broker import redis_namespace
from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import Session, register
from tests.routing_helpers import CUSTOMERS, DEPOT, make_location

# The quantum worker gets a Redis database of its own, so that workers of test runs going on
# beside this one (which share database 15) never take its messages.
QUANTUM_REDIS_URL = urlsplit(TEST_REDIS_URL)._replace(path="/11").geturl()
NAMESPACE = redis_namespace(get_settings())


class _PrivateQueue:
    def __init__(self) -> None:
        self.broker = RedisBroker(url=QUANTUM_REDIS_URL, namespace=NAMESPACE)

    async def enqueue_quantum(self, job_id: UUID, workspace_id: UUID) -> None:
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=QUEUE,
            actor_name=ACTOR,
            args=(str(job_id), str(workspace_id)),
            kwargs={},
            options={},
        )
        await asyncio.to_thread(self.broker.enqueue, message)


@pytest.fixture
def quantum_worker(app: Starlette, database: DatabaseUnderTest) -> Iterator[None]:
    """`dramatiq tasks.worker --queues quantum` on this test's database."""
    env = {
        **os.environ,
        "DATABASE_URL": database.owner_url,
        "REDIS_URL": QUANTUM_REDIS_URL,
        "ENVIRONMENT": "test",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dramatiq",
            "tasks.worker",
            "--processes",
            "1",
            "--threads",
            "2",
            "--queues",
            QUEUE,
        ],
        cwd=ROOT,
        env=env,
    )
    queue = _PrivateQueue()
    app.state.quantum_jobs = queue
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=20)
        queue.broker.client.delete(f"{NAMESPACE}:{QUEUE}", f"{NAMESPACE}:{QUEUE}.msgs")


async def _places(client: httpx.AsyncClient, who: Session, stops: int) -> tuple[str, list[str]]:
    depot = await make_location(client, who, "Depot", *DEPOT, "depot")
    customers = [
        await make_location(client, who, f"C{i}", lng, lat, "customer")
        for i, (lng, lat) in enumerate(CUSTOMERS[:stops])
    ]
    return depot, customers


async def _optimize(
    client: httpx.AsyncClient, who: Session, wait: float = 60, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/quantum/optimize?wait={wait}", json=body, headers=who.headers
    )


async def test_quantum_jobs_on_a_worker(
    client: httpx.AsyncClient, quantum_worker: None, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    depot, stops = await _places(client, admin, 5)
    fast = {"max_iterations": 20, "shots": 512}

    # Pure QAOA on three stops: one 9-qubit circuit, compared with the classical answer.
    done = await _optimize(client, admin, location_ids=stops[:3], depot_location_id=depot, **fast)
    assert done.status_code == 200, done.text
    job = done.json()["data"]
    assert job["status"] == "completed" and job["solver_type"] == "quantum"
    (run,) = job["quantum_runs"]
    assert run["status"] == "completed" and run["qubits_used"] == 9
    assert run["backend"] == "aer_simulator" and run["circuit_depth"] > 0
    raw = run["raw_result"]
    for key in ("top_states", "p_feasible", "exact_optimum", "gap", "uniform_random"):
        assert key in raw
    assert run["execution_time_ms"] > 0
    comparison = job["comparison"]
    assert comparison["final_cost"] <= comparison["classical_cost"] + 1e-9
    assert comparison["subproblems_run"] == 1

    # A budget too small for one circuit: the run ends `timeout`, the job completes with the
    # classical answer and says it fell back.
    late = await _optimize(
        client, admin, location_ids=stops[:3], depot_location_id=depot, timeout_s=0.01, **fast
    )
    assert late.status_code == 200, late.text
    body = late.json()["data"]
    assert body["status"] == "completed"
    assert body["quantum_runs"][0]["status"] == "timeout"
    assert body["comparison"]["fell_back"] and body["comparison"]["timed_out"]
    assert body["comparison"]["final_cost"] == body["comparison"]["classical_cost"]

    # The same with fallback disabled: 504 QUANTUM_TIMEOUT, now and on every read.
    strict = await _optimize(
        client,
        admin,
        location_ids=stops[:3],
        depot_location_id=depot,
        timeout_s=0.01,
        allow_fallback=False,
        **fast,
    )
    assert strict.status_code == 504, strict.text
    assert strict.json()["error"]["code"] == "QUANTUM_TIMEOUT"
    job_id = strict.json()["error"]["details"]["job_id"]
    again = await client.get(f"/api/v1/quantum/job/{job_id}", headers=admin.headers)
    assert again.status_code == 504

    # The IBM path in Qiskit Runtime's local testing mode, on a 5-qubit fake device.
    ibm = await _optimize(
        client,
        admin,
        location_ids=stops[:2],
        depot_location_id=depot,
        backend="ibm_local",
        device="fake_manila",
        **fast,
    )
    assert ibm.status_code == 200, ibm.text
    (ibm_run,) = ibm.json()["data"]["quantum_runs"]
    assert ibm_run["backend"] == "ibm:fake_manila"
    assert ibm_run["ibm_job_id"]
    transpiled = ibm_run["raw_result"]["transpiled"]
    assert transpiled["depth"] > 0 and transpiled["two_qubit_gates"] > 0
    assert transpiled["device"] == "fake_manila"

    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        rows = await owner_conn.fetch(
            "SELECT status::text, ibm_job_id FROM quantum_jobs ORDER BY created_at"
        )
        events = [
            r["event_type"]
            for r in await owner_conn.fetch("SELECT event_type FROM analytics_events")
        ]
        actions = {r["action"] for r in await owner_conn.fetch("SELECT action FROM audit_logs")}
    assert [r["status"] for r in rows] == ["completed", "timeout", "timeout", "completed"]
    assert rows[-1]["ibm_job_id"] == ibm_run["ibm_job_id"]
    assert events.count("quantum.job_completed") == 3
    assert events.count("quantum.job_failed") == 1
    assert {"quantum.optimize_requested", "quantum.job_completed", "quantum.job_failed"} <= actions


async def test_a_route_over_the_cap_is_refused_unless_hybrid_is_allowed(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    depot, stops = await _places(client, admin, 5)
    refused = await _optimize(client, admin, wait=0, location_ids=stops, depot_location_id=depot)
    assert refused.status_code == 422
    error = refused.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert "25 qubits" in error["message"] and error["details"]["cap"] == 16
    allowed = await _optimize(
        client, admin, wait=0, location_ids=stops, depot_location_id=depot, allow_hybrid=True
    )
    assert allowed.status_code == 202
    hybrid = await _optimize(
        client, admin, wait=0, location_ids=stops, depot_location_id=depot, mode="hybrid"
    )
    assert hybrid.status_code == 202
    assert hybrid.json()["data"]["solver_type"] == "hybrid"
    ibm = await _optimize(
        client, admin, wait=0, location_ids=stops[:2], depot_location_id=depot, backend="ibm"
    )
    assert ibm.status_code == 422
    assert "not configured" in ibm.json()["error"]["message"]
