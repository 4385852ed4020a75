"""A route in hybrid mode runs the quantum improver on top of its classical plan (tested at
length in tests/test_hybrid.py) and records what it did."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette

from core.cache import MemoryCache
from core.principal import Principal
from models.routing_inputs import OptimizeRequest
from services.routing import optimization
from tests.helpers import register
from tests.routing_helpers import city, make_vehicle, route_body


class NoQueue:
    async def enqueue_optimization(self, job_id: uuid.UUID, workspace_id: uuid.UUID) -> None:
        return None


class Silent:
    async def publish(self, job_id: uuid.UUID, message: dict[str, object]) -> None:
        return None


async def test_hybrid_route_records_its_quantum_work_and_keeps_a_valid_plan(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "HYB-1")
    body = route_body(depot, customers[:6], van, optimization_mode="hybrid")
    created = await client.post("/api/v1/routes", json=body, headers=admin.headers)
    route_id = uuid.UUID(created.json()["data"]["id"])
    actor = Principal(uuid.UUID(admin.user_id), uuid.UUID(admin.workspace_id), None, "admin")
    async with app.state.db.session(actor.workspace_id) as session:
        ticket = await optimization.request_optimization(
            session=session,
            actor=actor,
            route_id=route_id,
            data=OptimizeRequest(time_limit_s=4),
            cache=MemoryCache(),
            queue=NoQueue(),
        )
    status = await optimization.run_job(
        db=app.state.db,
        cache=MemoryCache(),
        channel=Silent(),
        job_id=ticket.job.id,
        workspace_id=actor.workspace_id,
    )
    assert status is not None
    assert status.value == "completed"
    job = (await client.get(f"/api/v1/jobs/{ticket.job.id}", headers=admin.headers)).json()["data"]
    assert job["solver_type"] == "hybrid"
    async with app.state.db.session(actor.workspace_id) as session:
        row = await optimization.get_job(session=session, actor=actor, job_id=ticket.job.id)
    quantum = row.result_data["quantum"]
    assert quantum["mode"] == "hybrid"
    assert quantum["final_cost"] <= quantum["baseline_cost"]
    # Six stops are solved exactly: there is nothing for QAOA to improve, and it says so.
    assert quantum["stopped"] == "proven_optimal"
    assert quantum["subproblems_run"] == 0
    route = (await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)).json()["data"]
    assert route["status"] == "optimized"
    assert sorted(s["location_id"] for s in route["stops"]) == sorted(customers[:6])
