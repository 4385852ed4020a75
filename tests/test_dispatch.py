"""Dispatch of the closest responders: the choice equals a brute-force ranking of the whole
fleet by matrix travel time, concurrent dispatches never share a vehicle, each unit gets a
deployed one-stop route, the answer explains itself, and resolving clears the units."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from solvers.matrix import HaversineProvider
from solvers.problem import Point
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.helpers import register
from tests.operations_helpers import SCENE, dispatch, in_workspace, incident, unit

TYPES = ("ambulance", "fire_engine", "police_car", "car", "van", "bike", "truck")


async def _fleet(
    owner: asyncpg.Connection, workspace_id: str, rng: random.Random, size: int
) -> list[dict]:
    """`size` vehicles around the scene: mixed types, some busy, some stale, some without
    a position, written directly (the API would take a request each)."""
    now = datetime.now(UTC)
    vehicles = []
    for n in range(size):
        lat = SCENE["lat"] + rng.uniform(-0.08, 0.08)
        lng = SCENE["lng"] + rng.uniform(-0.08, 0.08)
        status = rng.choice(["available"] * 6 + ["in_transit", "maintenance", "offline"])
        age = rng.choice([30, 60, 120, 300, 3600]) if n % 9 else None
        vehicles.append(
            {
                "id": uuid.uuid4(),
                "type": rng.choice(TYPES),
                "lat": lat,
                "lng": lng,
                "status": status,
                "at": now - timedelta(seconds=age) if age is not None else None,
            }
        )
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        await owner.executemany(
            "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, status,"
            " last_location, last_location_at) VALUES ($1, $2, $3, $4, $5::vehicle_status,"
            " CASE WHEN $8::timestamptz IS NULL THEN NULL"
            " ELSE ST_SetSRID(ST_MakePoint($6, $7), 4326)::geography END, $8)",
            [
                (
                    v["id"],
                    uuid.UUID(workspace_id),
                    v["type"],
                    f"R {i}",
                    v["status"],
                    v["lng"],
                    v["lat"],
                    v["at"],
                )
                for i, v in enumerate(vehicles)
            ],
        )
    return vehicles


def _brute_force(vehicles: list[dict], lat: float, lng: float, types: set[str] | None) -> list:
    """Every free, fresh vehicle of the workspace, ranked by matrix travel time."""
    cutoff = datetime.now(UTC) - timedelta(minutes=10)
    eligible = [
        v
        for v in vehicles
        if v["status"] == "available"
        and v["at"] is not None
        and v["at"] >= cutoff
        and (types is None or v["type"] in types)
    ]
    provider = HaversineProvider()
    points = [Point(lat, lng)] + [Point(v["lat"], v["lng"]) for v in eligible]
    matrix = provider.matrix(points, {v["type"] for v in eligible})
    ranked = sorted(
        (
            int(matrix.durations[v["type"]][i, 0]),
            int(matrix.distance[i, 0]),
            str(v["id"]),
        )
        for i, v in enumerate(eligible, start=1)
    )
    return ranked


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_choice_equals_a_brute_force_ranking_of_the_whole_fleet(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, seed: int
) -> None:
    rng = random.Random(seed)
    admin = await register(client)
    vehicles = await _fleet(owner_conn, admin.workspace_id, rng, 300)
    for round_ in range(4):
        lat = SCENE["lat"] + rng.uniform(-0.05, 0.05)
        lng = SCENE["lng"] + rng.uniform(-0.05, 0.05)
        types = set(rng.sample(TYPES, 2)) if round_ % 2 else None
        count = rng.randint(1, 4)
        expected = _brute_force(vehicles, lat, lng, types)[:count]
        created = await incident(client, admin, location={"lat": lat, "lng": lng})
        body: dict = {"count": count}
        if types:
            body["vehicle_types"] = sorted(types)
        response = await dispatch(client, admin, created["id"], **body)
        assert response.status_code == 200, response.text
        units = response.json()["data"]["units"]
        assert [(u["travel_s"], u["distance_m"], u["vehicle_id"]) for u in units] == [
            tuple(e) for e in expected
        ]
        # The chosen are off the market for the next rounds, as the brute force should know.
        for u in units:
            next(v for v in vehicles if str(v["id"]) == u["vehicle_id"])["status"] = "in_transit"


async def test_units_get_deployed_one_stop_routes_and_are_cleared_on_resolve(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    near = await unit(client, admin, "AMB NEAR", SCENE["lat"] + 0.01, SCENE["lng"])
    far = await unit(client, admin, "AMB FAR", SCENE["lat"] + 0.05, SCENE["lng"])
    fire = await unit(client, admin, "FIRE 1", SCENE["lat"] + 0.002, SCENE["lng"], "fire_engine")
    stale = await unit(client, admin, "AMB OLD", SCENE["lat"] + 0.001, SCENE["lng"])
    busy = await unit(client, admin, "AMB BUSY", SCENE["lat"] - 0.001, SCENE["lng"])
    await client.patch(
        f"/api/v1/vehicles/{busy}", json={"status": "maintenance"}, headers=admin.headers
    )
    created = await incident(client, admin, "medium")
    # A position older than the configured age: not a candidate.
    app_db = client._transport.app.state.db  # type: ignore[attr-defined]
    async with app_db.session(uuid.UUID(admin.workspace_id)) as session:
        from sqlalchemy import text

        await session.execute(
            text("UPDATE vehicles SET last_location_at = now() - interval '1 hour' WHERE id = :id"),
            {"id": uuid.UUID(stale)},
        )

    response = await dispatch(client, admin, created["id"], vehicle_types=["ambulance"])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["requested"] == 1 and data["dispatched"] == 1 and data["shortfall"] == 0
    assert [u["vehicle_id"] for u in data["units"]] == [near]
    chosen = data["units"][0]
    assert chosen["travel_s"] > 0 and chosen["distance_m"] > 1000
    assert data["sla_state"] == "on_track"
    reasons = {a["vehicle_id"]: a["reason"] for a in data["alternatives"]}
    assert reasons[far] == "farther"
    assert reasons[fire] == "wrong type"
    assert reasons[stale] == "stale position"
    assert reasons[busy] == "busy"
    incident_body = data["incident"]
    assert incident_body["status"] == "dispatched"
    assert incident_body["assigned_vehicles"] == [near]
    assert incident_body["units"][0]["eta"] == chosen["eta"]

    route = (
        await client.get(f"/api/v1/routes/{chosen['route_id']}", headers=admin.headers)
    ).json()["data"]
    assert route["status"] == "deployed"
    assert route["vehicle_id"] == near
    assert len(route["stops"]) == 1
    assert route["stops"][0]["geo"]["coordinates"] == [SCENE["lng"], SCENE["lat"]]
    vehicle = (await client.get(f"/api/v1/vehicles/{near}", headers=admin.headers)).json()["data"]
    assert vehicle["status"] == "in_transit"

    # A second dispatch of the same incident adds the next best; the first is taken.
    more = await dispatch(client, admin, created["id"], count=3, vehicle_types=["ambulance"])
    more_data = more.json()["data"]
    assert [u["vehicle_id"] for u in more_data["units"]] == [far]
    assert more_data["shortfall"] == 2
    assert "1 of 3" in more_data["message"]

    for status in ("in_progress", "resolved"):
        done = await client.patch(
            f"/api/v1/incidents/{created['id']}", json={"status": status}, headers=admin.headers
        )
        assert done.status_code == 200, done.text
    units = done.json()["data"]["units"]
    assert all(u["cleared_at"] for u in units)
    for vid in (near, far):
        v = (await client.get(f"/api/v1/vehicles/{vid}", headers=admin.headers)).json()["data"]
        assert v["status"] == "available"
    route = (
        await client.get(f"/api/v1/routes/{chosen['route_id']}", headers=admin.headers)
    ).json()["data"]
    assert route["status"] == "cancelled"  # never reached the scene


@pytest.fixture
async def roomy_client(
    database: DatabaseUnderTest, redis: Redis
) -> AsyncIterator[httpx.AsyncClient]:
    """The app with rate limits above the burst and a pool for many transactions at once."""
    settings = settings_for(
        database.name,
        rate_limit_user_per_min=10_000,
        rate_limit_workspace_per_min=10_000,
        db_pool_size=20,
    )
    app, lifespan = await start_app(settings)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_fifty_concurrent_dispatches_never_share_a_vehicle(
    roomy_client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    client = roomy_client
    admin = await register(client)
    for n in range(20):
        await unit(
            client,
            admin,
            f"AMB {n}",
            SCENE["lat"] + 0.002 * (n % 5),
            SCENE["lng"] + 0.002 * (n // 5),
        )
    incidents = [(await incident(client, admin, "low"))["id"] for _ in range(50)]
    responses = await asyncio.gather(*(dispatch(client, admin, iid, count=1) for iid in incidents))
    assert all(r.status_code == 200 for r in responses), [
        r.text for r in responses if r.status_code != 200
    ]
    sent = [u["vehicle_id"] for r in responses for u in r.json()["data"]["units"]]
    assert len(sent) == len(set(sent)) == 20
    shortfalls = [r.json()["data"]["shortfall"] for r in responses]
    assert shortfalls.count(1) == 30
    rows = await in_workspace(
        owner_conn,
        admin.workspace_id,
        "SELECT incident_id::text, vehicle_id::text FROM incident_units WHERE cleared_at IS NULL",
    )
    assert len(rows) == 20
    by_incident = {r["incident_id"]: r["vehicle_id"] for r in rows}
    for iid, response in zip(incidents, responses, strict=True):
        units = response.json()["data"]["units"]
        assert [u["vehicle_id"] for u in units] == (
            [by_incident[iid]] if iid in by_incident else []
        )
        assert response.json()["data"]["incident"]["status"] == (
            "dispatched" if units else "reported"
        )
    statuses = await in_workspace(
        owner_conn, admin.workspace_id, "SELECT DISTINCT status::text FROM vehicles"
    )
    assert [r["status"] for r in statuses] == ["in_transit"]


async def test_a_manual_choice_sends_the_free_units_named_and_says_why_not_the_others(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    free = await unit(client, admin, "AMB FREE", SCENE["lat"] + 0.03, SCENE["lng"])
    closer = await unit(client, admin, "AMB CLOSE", SCENE["lat"] + 0.001, SCENE["lng"])
    busy = await unit(client, admin, "AMB BUSY", SCENE["lat"] + 0.002, SCENE["lng"])
    await client.patch(
        f"/api/v1/vehicles/{busy}", json={"status": "offline"}, headers=admin.headers
    )
    first = await incident(client, admin)
    # The operator's choice wins over the closest.
    response = await dispatch(client, admin, first["id"], vehicle_ids=[free, busy])
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [u["vehicle_id"] for u in data["units"]] == [free]
    assert data["requested"] == 2 and data["shortfall"] == 1
    assert [(a["vehicle_id"], a["reason"]) for a in data["alternatives"]] == [(busy, "busy")]
    # A unit already sent elsewhere cannot be named again.
    second = await incident(client, admin)
    again = await dispatch(client, admin, second["id"], vehicle_ids=[free])
    assert again.json()["data"]["dispatched"] == 0
    assert again.json()["data"]["incident"]["status"] == "reported"
    closest = await dispatch(client, admin, second["id"])
    assert [u["vehicle_id"] for u in closest.json()["data"]["units"]] == [closer]
    mismatch = await dispatch(client, admin, second["id"], count=2, vehicle_ids=[free])
    assert mismatch.status_code == 422
