"""Routes end to end through a real worker: create, optimize, cache, deploy, complete."""

from __future__ import annotations

import asyncpg
import httpx

from tests.helpers import PASSWORD, member, register
from tests.routing_helpers import city, make_vehicle, route_body, worker

__all__ = ["worker"]


async def test_create_optimize_deploy_complete(
    client: httpx.AsyncClient, worker: object, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    h = admin.headers
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "RT-1")
    created = await client.post("/api/v1/routes", json=route_body(depot, customers, van), headers=h)
    assert created.status_code == 201, created.text
    route = created.json()["data"]
    assert route["status"] == "draft"
    assert [s["location_id"] for s in route["stops"]] == customers

    optimized = await client.post(f"/api/v1/routes/{route['id']}/optimize?wait=30", headers=h)
    assert optimized.status_code == 200, optimized.text
    body = optimized.json()["data"]
    assert body["job"]["status"] == "completed"
    plan = body["route"]
    assert plan["status"] == "optimized"
    assert sorted(s["location_id"] for s in plan["stops"]) == sorted(customers)
    etas = [s["arrival_eta"] for s in plan["stops"]]
    assert all(etas) and etas == sorted(etas)
    assert etas[0] > "2030-03-01T08:00:00Z"
    assert len(plan["path"]["features"]) == len(customers) + 1
    assert plan["path"]["features"][0]["geometry"]["coordinates"][0] == [77.5187, 13.0285]
    submitted = body["job"]["result"]["submitted_distance_m"]
    assert plan["distance_km"] * 1000 < submitted
    assert 0 < plan["optimization_score"] <= 100
    assert plan["estimated_duration_minutes"] >= len(customers) * 5

    # The same problem again is answered from the cache, at once.
    again = await client.post("/api/v1/routes", json=route_body(depot, customers, van), headers=h)
    hit = await client.post(f"/api/v1/routes/{again.json()['data']['id']}/optimize", headers=h)
    assert hit.status_code == 200
    assert hit.json()["data"]["job"]["cached"] is True
    assert [s["location_id"] for s in hit.json()["data"]["route"]["stops"]] == [
        s["location_id"] for s in plan["stops"]
    ]

    # Deploy to the van, then its driver completes the route.
    deployed = await client.post(f"/api/v1/routes/{route['id']}/deploy", headers=h)
    assert deployed.json()["data"]["status"] == "deployed"
    vehicle = await client.get(f"/api/v1/vehicles/{van}", headers=h)
    assert vehicle.json()["data"]["status"] == "in_transit"
    driver = await member(client, admin, "driver")
    stranger = await member(client, admin, "driver")
    profile = await client.post(
        "/api/v1/drivers",
        json={"user_id": driver.user_id, "license_number": "KA-1", "vehicle_id": van},
        headers=h,
    )
    assert profile.status_code == 201
    refused = await client.post(f"/api/v1/routes/{route['id']}/complete", headers=stranger.headers)
    assert refused.status_code == 403
    done = await client.post(f"/api/v1/routes/{route['id']}/complete", headers=driver.headers)
    assert done.status_code == 200, done.text
    assert done.json()["data"]["status"] == "completed"
    assert done.json()["data"]["actual_duration_minutes"] is not None
    vehicle = await client.get(f"/api/v1/vehicles/{van}", headers=h)
    assert vehicle.json()["data"]["status"] == "available"

    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        actions = {r["action"] for r in await owner_conn.fetch("SELECT action FROM audit_logs")}
        events = {
            r["event_type"]
            for r in await owner_conn.fetch("SELECT event_type FROM analytics_events")
        }
    assert {"route.created", "route.deployed", "route.completed"} <= actions
    assert {"route.created", "route.optimized", "route.deployed", "route.completed"} <= events
    assert PASSWORD


async def test_optimize_without_wait_returns_202_and_the_job_finishes(
    client: httpx.AsyncClient, worker: object
) -> None:
    admin = await register(client)
    depot, customers = await city(client, admin)
    created = await client.post(
        "/api/v1/routes", json=route_body(depot, customers[:5], None), headers=admin.headers
    )
    route_id = created.json()["data"]["id"]
    accepted = await client.post(f"/api/v1/routes/{route_id}/optimize", headers=admin.headers)
    assert accepted.status_code == 202
    job = accepted.json()["data"]["job"]
    assert job["status"] == "pending"
    status = await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)
    assert status.json()["data"]["status"] in ("optimizing", "optimized")
    import asyncio

    # Once a second, for up to 90 s (a worker starting on a loaded machine): well within
    # the 100 requests a minute a user may make.
    for _ in range(90):
        polled = await client.get(f"/api/v1/jobs/{job['id']}", headers=admin.headers)
        if polled.json()["data"]["status"] == "completed":
            break
        await asyncio.sleep(1)
    assert polled.json()["data"]["status"] == "completed"
    assert polled.json()["data"]["result"]["proven_optimal"] is True
    final = await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)
    assert final.json()["data"]["status"] == "optimized"
