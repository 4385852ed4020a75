"""Plans on a road network, end to end through a real worker: legs along the streets,
great-circle plans that say so, unreachable stops reported and never priced."""

from __future__ import annotations

import itertools
from pathlib import Path

import asyncpg
import httpx

from services.roads.imports import import_network
from tests.conftest import DatabaseUnderTest
from tests.helpers import gql, register
from tests.roads_helpers import HELSINKI_CUSTOMERS, HELSINKI_DEPOT, import_sample, write_village
from tests.routing_helpers import CUSTOMERS, DEPOT, make_location, make_vehicle, route_body, worker

__all__ = ["worker"]

JOB_TRAVEL = """
query ($id: UUID!) { optimizationJob(id: $id) {
  travel { source networkVersion reason offNetworkLocationIds } } }
"""


async def _places(
    client: httpx.AsyncClient, admin: object, depot: tuple[float, float], customers: list
) -> tuple[str, list[str]]:
    depot_id = await make_location(client, admin, "Depot", *depot, "depot")  # type: ignore[arg-type]
    ids = [
        await make_location(client, admin, f"C{i}", lng, lat, "customer")  # type: ignore[arg-type]
        for i, (lng, lat) in enumerate(customers)
    ]
    return depot_id, ids


async def _optimize(client: httpx.AsyncClient, headers: dict, body: dict) -> dict:
    created = await client.post("/api/v1/routes", json=body, headers=headers)
    assert created.status_code == 201, created.text
    route_id = created.json()["data"]["id"]
    done = await client.post(f"/api/v1/routes/{route_id}/optimize?wait=30", headers=headers)
    assert done.status_code == 200, done.text
    data: dict = done.json()["data"]
    assert data["job"]["status"] == "completed"
    return data


async def test_an_optimized_route_follows_the_streets(
    client: httpx.AsyncClient,
    worker: object,
    database: DatabaseUnderTest,
    owner_conn: asyncpg.Connection,
) -> None:
    network = await import_sample(database)
    admin = await register(client)
    depot, customers = await _places(client, admin, HELSINKI_DEPOT, HELSINKI_CUSTOMERS)
    van = await make_vehicle(client, admin, "HKI-1")
    data = await _optimize(client, admin.headers, route_body(depot, customers, van))
    job = data["job"]
    assert job["travel_source"] == "road"
    assert job["travel"]["network_version"] == network.version
    assert job["result"]["unassigned"] == []
    route = data["route"]

    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        legs = await owner_conn.fetch(
            """
            SELECT p.segment_index, ST_NPoints(p.path::geometry) AS points,
                   ST_Length(p.path) AS length,
                   ST_Distance(ST_StartPoint(p.path::geometry)::geography,
                               ST_EndPoint(p.path::geometry)::geography) AS straight,
                   ST_AsText(ST_StartPoint(p.path::geometry)) AS start,
                   ST_AsText(ST_EndPoint(p.path::geometry)) AS finish
            FROM route_paths p WHERE p.route_id = $1 ORDER BY p.segment_index
            """,
            route["id"],
        )
        stops = await owner_conn.fetch(
            """
            SELECT ST_X(l.geo::geometry) AS lng, ST_Y(l.geo::geometry) AS lat
            FROM route_stops s JOIN locations l ON l.id = s.location_id
            WHERE s.route_id = $1 ORDER BY s.stop_order
            """,
            route["id"],
        )
    assert len(legs) == len(customers) + 1
    visits = [HELSINKI_DEPOT, *((s["lng"], s["lat"]) for s in stops), HELSINKI_DEPOT]
    # The largest strongly connected part of the van's network, by pgRouting.
    edges_sql = (
        "SELECT id, source, target,"
        " CASE WHEN forward_mask & 4 = 4 THEN length_m ELSE -1 END AS cost,"
        " CASE WHEN backward_mask & 4 = 4 THEN length_m ELSE -1 END AS reverse_cost"
        f" FROM roads.edges WHERE version = {network.version}"
    )
    main = await owner_conn.fetch(
        """
        WITH c AS (SELECT * FROM pgr_strongComponents($1)),
             biggest AS (SELECT component FROM c GROUP BY 1 ORDER BY count(*) DESC LIMIT 1)
        SELECT node FROM c WHERE component = (SELECT component FROM biggest)
        """,
        edges_sql,
    )
    nodes = [r["node"] for r in main]
    offsets = []
    for lng, lat in visits:
        # The stop's snap, found independently: the nearest point (in UTM 35N metres) of the
        # nearest road a van may use, in the main network.
        snap = await owner_conn.fetchrow(
            """
            SELECT ST_AsText(ST_Transform(ST_ClosestPoint(ST_Transform(geom, 32635),
                                                          ST_Transform(p, 32635)), 4326)) AS at,
                   ST_Distance(geom::geography, p::geography) AS off
            FROM roads.edges, ST_SetSRID(ST_MakePoint($1, $2), 4326) AS p
            WHERE version = $3 AND (forward_mask | backward_mask) & 4 = 4
              AND source = ANY($4::bigint[]) AND target = ANY($4::bigint[])
            ORDER BY ST_Distance(geom::geography, p::geography) LIMIT 1
            """,
            lng,
            lat,
            network.version,
            nodes,
        )
        offsets.append((snap["at"], snap["off"]))
    total = 0.0
    for leg, (a, b) in zip(legs, itertools.pairwise(offsets), strict=True):
        assert leg["points"] > 2, "a leg is drawn along the streets, not straight"
        assert leg["length"] >= leg["straight"] - 0.01
        for drawn, (expected, _) in ((leg["start"], a), (leg["finish"], b)):
            near = await owner_conn.fetchval(
                "SELECT ST_Distance(ST_GeomFromText($1, 4326)::geography,"
                " ST_GeomFromText($2, 4326)::geography)",
                drawn,
                expected,
            )
            assert near < 3, (drawn, expected)
        total += leg["length"] + a[1] + b[1]
    planned = route["distance_km"] * 1000
    assert abs(total - planned) <= 0.01 * planned + len(legs), (total, planned)

    # The GraphQL job says the same.
    body = await gql(client, JOB_TRAVEL, {"id": job["id"]}, session=admin)
    travel = body["data"]["optimizationJob"]["travel"]
    assert travel == {
        "source": "road",
        "networkVersion": network.version,
        "reason": None,
        "offNetworkLocationIds": [],
    }


async def test_stops_off_the_network_make_a_great_circle_plan_that_says_so(
    client: httpx.AsyncClient, worker: object, database: DatabaseUnderTest
) -> None:
    await import_sample(database)
    admin = await register(client)
    depot, customers = await _places(client, admin, HELSINKI_DEPOT, HELSINKI_CUSTOMERS[:3])
    bengaluru = await make_location(client, admin, "Far away", *CUSTOMERS[0], "customer")
    van = await make_vehicle(client, admin, "HKI-2")
    data = await _optimize(client, admin.headers, route_body(depot, [*customers, bengaluru], van))
    job = data["job"]
    assert job["travel_source"] == "great_circle"
    assert job["travel"]["off_network"] == [bengaluru]
    assert job["result"]["travel"]["source"] == "great_circle"
    features = data["route"]["path"]["features"]
    assert all(len(f["geometry"]["coordinates"]) == 2 for f in features)

    # An unknown travel source is refused; one set to road travel refuses the same
    # request, naming the location.
    wrong = await client.patch(
        f"/api/v1/workspaces/{admin.workspace_id}",
        json={"settings": {"travel_source": "teleport"}},
        headers=admin.headers,
    )
    assert wrong.status_code == 422
    assert "travel_source" in wrong.text
    patched = await client.patch(
        f"/api/v1/workspaces/{admin.workspace_id}",
        json={"settings": {"travel_source": "road"}},
        headers=admin.headers,
    )
    assert patched.status_code == 200, patched.text
    created = await client.post(
        "/api/v1/routes",
        json=route_body(depot, [*customers, bengaluru], van),
        headers=admin.headers,
    )
    refused = await client.post(
        f"/api/v1/routes/{created.json()['data']['id']}/optimize", headers=admin.headers
    )
    assert refused.status_code == 422
    assert bengaluru in refused.json()["error"]["message"]


async def test_a_workspace_without_a_network_in_reach_plans_as_before(
    client: httpx.AsyncClient, worker: object, database: DatabaseUnderTest
) -> None:
    await import_sample(database)
    admin = await register(client)
    depot, customers = await _places(client, admin, DEPOT, CUSTOMERS[:4])
    van = await make_vehicle(client, admin, "BLR-1")
    data = await _optimize(client, admin.headers, route_body(depot, customers, van))
    assert data["job"]["travel_source"] == "great_circle"
    assert sorted(data["job"]["travel"]["off_network"]) == sorted([depot, *customers])


async def test_an_unreachable_stop_is_reported_not_priced(
    client: httpx.AsyncClient, worker: object, database: DatabaseUnderTest, tmp_path: Path
) -> None:
    await import_network(database.owner_dsn, write_village(tmp_path))
    admin = await register(client)
    depot, customers = await _places(
        client, admin, (25.3005, 60.3001), [(25.3035, 60.3001), (25.3002, 60.3020)]
    )
    island = await make_location(client, admin, "Island", 25.3220, 60.3001, "customer")
    van = await make_vehicle(client, admin, "VIL-1")
    data = await _optimize(client, admin.headers, route_body(depot, [*customers, island], van))
    job = data["job"]
    assert job["travel_source"] == "road"
    assert job["result"]["unassigned"] == [{"stop": 2, "reason": "unreachable"}]
    planned = [s for s in data["route"]["stops"] if s["arrival_eta"] is not None]
    assert sorted(s["location_id"] for s in planned) == sorted(customers)
    assert data["route"]["distance_km"] < 2


async def test_a_fleet_plan_on_the_network_draws_each_route_for_its_vehicle(
    client: httpx.AsyncClient, database: DatabaseUnderTest
) -> None:
    network = await import_sample(database)
    admin = await register(client)
    depot, customers = await _places(client, admin, HELSINKI_DEPOT, HELSINKI_CUSTOMERS)
    van = await make_vehicle(client, admin, "HKI-3", capacity_kg=150)
    bike = await make_vehicle(client, admin, "HKI-4", vehicle_type="bike", capacity_kg=150)
    planned = await client.post(
        "/api/v1/routes/plan",
        json={
            "depot_location_id": depot,
            "vehicle_ids": [van, bike],
            "stops": [{"location_id": c, "load_kg": 50} for c in customers],
            "planned_start": "2030-03-01T08:00:00Z",
        },
        headers=admin.headers,
    )
    assert planned.status_code == 201, planned.text
    body = planned.json()["data"]
    assert body["travel_source"] == "road"
    assert body["travel"]["network_version"] == network.version
    assert len(body["routes"]) == 2
    for route in body["routes"]:
        legs = route["path"]["features"]
        assert len(legs) == len(route["stops"]) + 1
        assert any(len(leg["geometry"]["coordinates"]) > 2 for leg in legs)

    # GraphQL reports the same travel for a fleet plan.
    body = await gql(
        client,
        """
        mutation ($input: FleetPlanInput!) { planFleet(input: $input) {
          ... on FleetPlanPayload { travel { source networkVersion } routes { id } } } }
        """,
        {
            "input": {
                "depotLocationId": depot,
                "vehicleIds": [van],
                "stops": [{"locationId": customers[0], "loadKg": 10}],
            }
        },
        session=admin,
    )
    assert body["data"]["planFleet"]["travel"] == {
        "source": "road",
        "networkVersion": network.version,
    }


async def test_a_new_network_version_is_used_without_a_restart(
    database: DatabaseUnderTest, tmp_path: Path
) -> None:
    from uuid import uuid4

    from sqlalchemy.ext.asyncio import create_async_engine
    from sqlmodel.ext.asyncio.session import AsyncSession

    from services.roads.travel import choose_travel

    helsinki = [("depot", *HELSINKI_DEPOT), ("c", *HELSINKI_CUSTOMERS[0])]
    village = [("depot", 25.3005, 60.3001), ("c", 25.3035, 60.3001)]
    first = await import_sample(database)
    # One engine across both imports, as a running API holds it.
    engine = create_async_engine(database.settings.app_dsn)
    try:
        async with AsyncSession(engine) as session:
            before = await choose_travel(session, uuid4(), helsinki, ["van"])
        second = await import_network(database.owner_dsn, write_village(tmp_path))
        async with AsyncSession(engine) as session:
            after = await choose_travel(session, uuid4(), helsinki, ["van"])
            there = await choose_travel(session, uuid4(), village, ["van"])
    finally:
        await engine.dispose()
    assert before == {"source": "road", "network_version": first.version}
    assert after["source"] == "great_circle" and after["off_network"] == ["depot", "c"]
    assert there == {"source": "road", "network_version": second.version}
