"""Analytics end to end: routes optimized by a real worker, deployed and completed through
the API, their events relayed and folded by the real events process, and the reports
showing what happened, as of the newest event."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from services.analytics.rebuild import rebuild_read_models
from services.routing.optimization import cache_key
from tests.analytics_helpers import read_models, submitted_order_seconds
from tests.conftest import DatabaseUnderTest
from tests.events_helpers import events_process, eventually
from tests.helpers import Session, member, register
from tests.routing_helpers import CUSTOMERS, DEPOT, city, make_vehicle, route_body, worker

__all__ = ["worker"]

pytestmark = pytest.mark.slow


async def fetch(client: httpx.AsyncClient, who: Session, name: str, **params: str) -> dict:
    response = await client.get(f"/api/v1/analytics/{name}", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_route_lifecycle_reaches_every_report(
    database: DatabaseUnderTest,
    app: Starlette,
    client: httpx.AsyncClient,
    worker: object,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register(client)
    h = admin.headers
    depot, customers = await city(client, admin)
    van = await make_vehicle(client, admin, "AN-1")
    first = await client.post("/api/v1/routes", json=route_body(depot, customers, van), headers=h)
    route = first.json()["data"]["id"]
    optimized = await client.post(f"/api/v1/routes/{route}/optimize?wait=30", headers=h)
    assert optimized.status_code == 200, optimized.text
    job, plan = optimized.json()["data"]["job"], optimized.json()["data"]["route"]
    # A plan cached before results carried the submitted order's figures: the hit below
    # times the submitted order again, on the same matrix.
    key = cache_key(uuid.UUID(admin.workspace_id), job["input_hash"])
    cached = await app.state.cache.get(key)
    for figure in ("submitted_distance_m", "submitted_duration_s"):
        assert cached.pop(figure) == job["result"][figure]
    await app.state.cache.set(key, cached, ttl_s=600)
    second = await client.post("/api/v1/routes", json=route_body(depot, customers, van), headers=h)
    hit = await client.post(f"/api/v1/routes/{second.json()['data']['id']}/optimize", headers=h)
    assert hit.json()["data"]["job"]["cached"] is True
    assert (await client.post(f"/api/v1/routes/{route}/deploy", headers=h)).status_code == 200
    driver = await member(client, admin, "driver")
    profile = await client.post(
        "/api/v1/drivers",
        json={"user_id": driver.user_id, "license_number": "AN-D1", "vehicle_id": van},
        headers=h,
    )
    assert profile.status_code == 201, profile.text
    done = await client.post(f"/api/v1/routes/{route}/complete", headers=driver.headers)
    assert done.status_code == 200, done.text

    async def folded() -> tuple[int, int]:
        async with owner_conn.transaction():
            await owner_conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
            )
            stored = await owner_conn.fetchval(
                "SELECT count(*) FROM analytics_events WHERE workspace_id = $1",
                admin.workspace_id,
            )
            counted = await owner_conn.fetchval(
                "SELECT coalesce(sum(event_count), 0) FROM event_topic_counts"
            )
        return stored, counted

    async with events_process(database):
        await eventually(folded, lambda n: n[0] == n[1], timeout_s=30, interval_s=0.2)
    routes = await fetch(client, admin, "routes")
    totals = routes["data"]["totals"]
    assert totals["by_status"] == {"completed": 1, "optimized": 1}
    assert totals["completed"]["planned_distance_m"] == round(plan["distance_km"] * 1000)
    # The plan's own seconds (the route shows whole minutes, rounded up).
    planned_s = totals["completed"]["planned_duration_s"]
    assert (
        (plan["estimated_duration_minutes"] - 1) * 60
        < planned_s
        <= plan["estimated_duration_minutes"] * 60
    )
    assert totals["completed"]["actual_duration_s"] is not None
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        newest = await owner_conn.fetchval(
            "SELECT max(created_at) FROM analytics_events WHERE workspace_id = $1",
            admin.workspace_id,
        )
    assert datetime.fromisoformat(routes["meta"]["as_of"]) == newest

    efficiency = (await fetch(client, admin, "efficiency", group_by="solver"))["data"]
    assert efficiency["totals"]["optimizations"] == 2
    assert (efficiency["totals"]["cache_hits"], efficiency["totals"]["cache_hit_rate"]) == (1, 0.5)
    submitted = job["result"]["submitted_distance_m"]
    saved = 2 * (submitted - plan["distance_km"] * 1000)
    assert efficiency["totals"]["saved_vs_submitted_m"] == pytest.approx(saved, abs=2)
    assert [g["key"] for g in efficiency["groups"]] == [job["result"]["solver"]]
    # Time against the submitted order, on the matrix the plan was priced with (great
    # circle x 1.3 at a van's 40 km/h; no windows, so no waits) plus 5 minutes a stop.
    submitted_s = submitted_order_seconds(DEPOT, CUSTOMERS, detour=1.3, speed_kmh=40, service_s=300)
    assert job["result"]["submitted_duration_s"] == pytest.approx(
        submitted_s, abs=len(CUSTOMERS) + 1
    )
    assert submitted_s > job["result"]["duration_s"]
    totals = efficiency["totals"]
    assert totals["submitted_duration_s"] == 2 * job["result"]["submitted_duration_s"]
    assert totals["saved_vs_submitted_s"] == 2 * (
        job["result"]["submitted_duration_s"] - job["result"]["duration_s"]
    )

    fleet = (await fetch(client, admin, "fleet", group_by="vehicle"))["data"]
    (row,) = fleet["groups"]
    assert row["key"] == van
    assert row["in_transit_s"] > 0 and row["available_s"] > 0
    assert fleet["totals"]["vehicles_known"] == 1

    # Each topic's stream was read on its own, out of order: the rebuild, in order, agrees.
    incremental = await read_models(owner_conn, admin.workspace_id)
    await rebuild_read_models(db=app.state.db, workspace_id=uuid.UUID(admin.workspace_id))
    assert await read_models(owner_conn, admin.workspace_id) == incremental
