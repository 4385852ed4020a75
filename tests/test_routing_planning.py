"""Fleet planning over several vehicles, and re-planning a route on the road."""

from __future__ import annotations

import uuid

import asyncpg
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


async def test_fleet_plan_spreads_stops_and_reports_what_does_not_fit(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    small = await make_vehicle(client, admin, "PLAN-1", capacity_kg=200)
    other = await make_vehicle(client, admin, "PLAN-2", capacity_kg=200)
    stops = [{"location_id": c, "load_kg": 90, "service_time_minutes": 5} for c in customers]
    stops.append({"location_id": customers[0], "load_kg": 500})  # heavier than any vehicle
    planned = await client.post(
        "/api/v1/routes/plan",
        json={
            "depot_location_id": depot,
            "vehicle_ids": [small, other],
            "stops": stops,
            "planned_start": "2030-03-01T08:00:00Z",
        },
        headers=admin.headers,
    )
    assert planned.status_code == 201, planned.text
    body = planned.json()["data"]
    assert len(body["routes"]) == 2
    assert {r["vehicle_id"] for r in body["routes"]} == {small, other}
    served = [s for r in body["routes"] for s in r["stops"]]
    assert len(served) == 4  # 2 x 90 kg fit in 200 kg per van
    assert [u["reason"] for u in body["unassigned"]].count("capacity") >= 1
    assert len(body["unassigned"]) == len(stops) - 4
    for route in body["routes"]:
        assert route["status"] == "draft"
        assert sum(s["load_kg"] for s in route["stops"]) <= 200
        etas = [s["arrival_eta"] for s in route["stops"]]
        assert etas == sorted(etas)
    listed = await client.get("/api/v1/routes", headers=admin.headers)
    assert listed.json()["meta"]["pagination"]["total"] == 2
    missing = await client.post(
        "/api/v1/routes/plan",
        json={"depot_location_id": depot, "vehicle_ids": [str(uuid.uuid4())], "stops": stops[:1]},
        headers=admin.headers,
    )
    assert missing.status_code == 404


async def test_reoptimize_keeps_completed_stops_and_starts_from_the_vehicle(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "RE-1")
    created = await client.post(
        "/api/v1/routes", json=route_body(depot, customers, van), headers=admin.headers
    )
    route_id = uuid.UUID(created.json()["data"]["id"])
    actor = Principal(uuid.UUID(admin.user_id), uuid.UUID(admin.workspace_id), None, "admin")
    db = app.state.db
    async with db.session(actor.workspace_id) as session:
        ticket = await optimization.request_optimization(
            session=session,
            actor=actor,
            route_id=route_id,
            data=OptimizeRequest(),
            cache=MemoryCache(),
            queue=NoQueue(),
        )
    await optimization.run_job(
        db=db,
        cache=MemoryCache(),
        channel=Silent(),
        job_id=ticket.job.id,
        workspace_id=actor.workspace_id,
    )
    deployed = await client.post(f"/api/v1/routes/{route_id}/deploy", headers=admin.headers)
    stops = deployed.json()["data"]["stops"]
    first = stops[0]
    # The first stop is done; the van now stands at the last stop of the plan.
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute(
            "UPDATE route_stops SET completed = true WHERE id = $1", uuid.UUID(first["id"])
        )
    last = stops[-1]["geo"]["coordinates"]
    await client.patch(
        f"/api/v1/vehicles/{van}",
        json={"last_location": {"lng": last[0], "lat": last[1]}},
        headers=admin.headers,
    )
    replanned = await client.post(f"/api/v1/routes/{route_id}/reoptimize", headers=admin.headers)
    assert replanned.status_code == 200, replanned.text
    body = replanned.json()["data"]
    new_stops = body["route"]["stops"]
    assert new_stops[0]["id"] == first["id"]
    assert new_stops[0]["stop_order"] == 1
    # Starting from where the last stop was, that stop is now served first.
    assert new_stops[1]["location_id"] == stops[-1]["location_id"]
    assert body["route"]["path"]["features"][0]["geometry"]["coordinates"][0] == last
    moved = [c for c in body["changes"] if c["old_order"] != c["new_order"]]
    assert moved
    assert all(c["new_eta"] for c in body["changes"])
    draft = await client.post(
        "/api/v1/routes", json=route_body(depot, customers[:2], van), headers=admin.headers
    )
    refused = await client.post(
        f"/api/v1/routes/{draft.json()['data']['id']}/reoptimize", headers=admin.headers
    )
    assert refused.status_code == 409
