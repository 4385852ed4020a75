"""Dispatch on a road network: units are ranked by road time through the same provider
that prices plans, and each unit's route to the scene follows the streets."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import numpy as np
import pytest
from starlette.applications import Starlette

from services.operations import dispatch as dispatch_service
from services.operations.travel import RoadFirst
from services.roads.imports import import_network
from services.roads.network import read_network
from services.roads.travel import road_provider
from solvers.matrix import HaversineProvider, haversine_to_m, travel_to
from solvers.problem import Point
from tests.conftest import DatabaseUnderTest
from tests.helpers import Session, register
from tests.operations_helpers import dispatch, in_workspace, unit
from tests.roads_helpers import import_sample, write_village

# In the village (tests/roads_helpers.py): the scene by B; a lorry by A, whose short road
# to B is closed to lorries; a van by C, farther in a straight line but nearer by road.
SCENE = Point(lat=60.3001, lon=25.3035)
LORRY = Point(lat=60.3001, lon=25.3005)
VAN = Point(lat=60.3029, lon=25.3001)


async def report(client: httpx.AsyncClient, admin: Session, place: Point) -> httpx.Response:
    """A collision reported at `place`."""
    body = {
        "severity": "high",
        "incident_type": "collision",
        "location": {"lat": place.lat, "lng": place.lon},
    }
    created = await client.post("/api/v1/incidents", json=body, headers=admin.headers)
    assert created.status_code == 201, created.text
    return created


async def test_units_are_ranked_by_road_time_and_drive_along_the_streets(
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    owner_conn: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    imported = await import_network(database.owner_dsn, write_village(tmp_path))
    admin = await register(client)
    lorry = await unit(client, admin, "LORRY 1", LORRY.lat, LORRY.lon, "truck")
    van = await unit(client, admin, "VAN 1", VAN.lat, VAN.lon, "van")
    created = await report(client, admin, SCENE)

    # In a straight line the lorry is the closer unit, and would be sent.
    straight = HaversineProvider()
    assert (
        straight.durations_to([LORRY], SCENE, "truck")[0]
        < straight.durations_to([VAN], SCENE, "van")[0]
    )

    response = await dispatch(client, admin, created.json()["data"]["id"], count=1)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [u["vehicle_id"] for u in data["units"]] == [van]
    network = await read_network(database.settings.app_dsn, imported.version)
    assert network is not None
    roads = road_provider(network)
    by_road = roads.matrix([SCENE, VAN, LORRY], ["van", "truck"])
    chosen = data["units"][0]
    assert chosen["travel_s"] == by_road.durations["van"][1, 0]
    assert chosen["distance_m"] == by_road.distance[1, 0]
    assert {a["vehicle_id"]: a["reason"] for a in data["alternatives"]}[lorry] == "farther"

    # The van's route to the scene turns the corner at A or D instead of cutting across.
    [path] = await in_workspace(
        owner_conn,
        admin.workspace_id,
        "SELECT ST_NPoints(p.path::geometry) AS points, ST_Length(p.path) AS metres"
        " FROM route_paths p JOIN routes r ON r.id = p.route_id WHERE r.vehicle_id = $1",
        uuid.UUID(van),
    )
    straight_m = straight.matrix([VAN, SCENE], ["van"]).distance[0, 1] / straight.detour_factor
    assert path["points"] > 2
    assert path["metres"] > straight_m


async def test_a_unit_beyond_the_nearest_few_goes_when_the_roads_make_it_the_fastest(
    client: httpx.AsyncClient, database: DatabaseUnderTest, tmp_path: Path
) -> None:
    """Five lorries by A are the nearest in a straight line, but the short road to B is
    closed to them; one by D, farther away, drives straight down to B. The walk reads the
    four nearest lorries first: the one by D is still found and sent."""
    await import_network(database.owner_dsn, write_village(tmp_path))
    admin = await register(client)
    near = [
        await unit(client, admin, f"LORRY A{i}", LORRY.lat + i * 0.00002, LORRY.lon, "truck")
        for i in range(5)
    ]
    by_d = await unit(client, admin, "LORRY D", 60.3028, 25.3040, "truck")
    created = await report(client, admin, SCENE)
    straight = HaversineProvider()
    assert (
        straight.durations_to([LORRY], SCENE, "truck")[0]
        < straight.durations_to([Point(60.3028, 25.3040)], SCENE, "truck")[0]
    )

    response = await dispatch(client, admin, created.json()["data"]["id"], count=1)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert [u["vehicle_id"] for u in data["units"]] == [by_d]
    passed = [a for a in data["alternatives"] if a["reason"] == "farther"]
    assert passed and all(a["vehicle_id"] in near for a in passed)
    assert all(a["travel_s"] > data["units"][0]["travel_s"] for a in passed)


def _random_fleet(rng: random.Random, size: int, now: datetime) -> list[dict[str, Any]]:
    """Units spread over the sample's streets: one in seven busy, one in eleven with a
    position too old to be sent."""
    return [
        {
            "id": uuid.uuid4(),
            "type": rng.choice(["ambulance", "fire_engine", "police_car", "car"]),
            "lng": rng.uniform(24.9370, 24.9520),
            "lat": rng.uniform(60.1660, 60.1770),
            "status": "available" if n % 7 else "in_transit",
            "at": now - timedelta(seconds=3600 if n % 11 == 0 else 30),
        }
        for n in range(size)
    ]


async def test_a_position_flush_refreshes_etas_by_road_with_one_travel_selection(
    app: Starlette,
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    owner_conn: asyncpg.Connection,
    tmp_path: Path,
) -> None:
    """Three units on their way, moved in one batch: the two whose scenes lie on the
    network get road ETAs from where they now are, the one whose scene is off it a
    great-circle ETA; the workspace's travel is selected once for the whole flush."""
    from tests.test_fleet_graphql import count_statements

    imported = await import_network(database.owner_dsn, write_village(tmp_path))
    network = await read_network(database.settings.app_dsn, imported.version)
    assert network is not None
    roads = road_provider(network)
    admin = await register(client)
    scenes = [SCENE, Point(lat=60.3030, lon=25.3010), Point(lat=60.3100, lon=25.3000)]
    vans = [await unit(client, admin, f"VAN {i}", VAN.lat, VAN.lon, "van") for i in range(3)]
    incidents = []
    for place, van in zip(scenes, vans, strict=True):
        incidents.append((await report(client, admin, place)).json()["data"]["id"])
        sent = await dispatch(client, admin, incidents[-1], vehicle_ids=[van])
        assert sent.status_code == 200, sent.text

    # Whole seconds, and after the positions the units were created with.
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    moves = [Point(lat=60.3030, lon=25.3025), Point(lat=60.3001, lon=25.3005), LORRY]
    batch = {
        "positions": [
            {"vehicle_id": v, "lat": p.lat, "lng": p.lon, "recorded_at": now.isoformat()}
            for v, p in zip(vans, moves, strict=True)
        ]
    }
    expected = [
        now + timedelta(seconds=int(travel_to(p, [m], place, ["van"]).durations["van"][0]))
        for p, m, place in zip([roads, roads, HaversineProvider()], moves, scenes, strict=True)
    ]

    async def etas() -> list[datetime]:
        rows = await in_workspace(
            owner_conn,
            admin.workspace_id,
            "SELECT incident_id, eta FROM incident_units WHERE incident_id = ANY($1::uuid[])",
            [uuid.UUID(i) for i in incidents],
        )
        eta = {str(r["incident_id"]): r["eta"] for r in rows}
        return [eta[i] for i in incidents]

    with count_statements(app) as statements:
        stored = await client.post("/api/v1/tracking/batch", json=batch, headers=admin.headers)
        assert stored.status_code in (200, 201), stored.text
        for _ in range(60):  # the feed follows the stored batch
            if await etas() == expected:
                break
            await asyncio.sleep(0.25)
    assert await etas() == expected
    # The feed selects the travel once; the writer snaps no unit on its way (only free
    # units are dispatched), so it does not ask for the network.
    assert sum("travel_source" in s for s in statements) == 1
    assert sum("roads.networks" in s for s in statements) == 1
    assert network.snap([scenes[2]], ["van"], roads.max_snap_m) == [None]


async def test_a_walk_that_reaches_its_cap_sends_the_best_it_read(
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The village above, ranked by the nearest-first walk (as units without a snap are,
    when there are many), capped at the first read (the nearest four lorries, none of them
    surely the fastest): the dispatch ends, sending the fastest of those read, instead of
    reading the same four again and again."""
    monkeypatch.setattr(dispatch_service, "WALK_CAP", 1 + dispatch_service.SPARE)
    # Units not snapped where their positions were stored: the walk ranks them, not SQL.
    monkeypatch.setattr(dispatch_service.road_ranking, "UNSNAPPED_CAP", 0)
    await import_network(database.owner_dsn, write_village(tmp_path))
    admin = await register(client)
    near = [
        await unit(client, admin, f"LORRY A{i}", LORRY.lat + i * 0.00002, LORRY.lon, "truck")
        for i in range(5)
    ]
    await unit(client, admin, "LORRY D", 60.3028, 25.3040, "truck")
    created = await report(client, admin, SCENE)

    async with asyncio.timeout(60):
        response = await dispatch(client, admin, created.json()["data"]["id"], count=1)
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    (sent,) = data["units"]
    assert sent["vehicle_id"] in near[:4]
    read = [a for a in data["alternatives"] if a["vehicle_id"] in near]
    assert all(a["travel_s"] >= sent["travel_s"] for a in read)


async def test_a_dense_fleet_in_the_city_gets_the_units_a_road_ranking_of_all_would_send(
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    owner_conn: asyncpg.Connection,
) -> None:
    """Six hundred units among the one-way streets of the Helsinki sample, some busy or
    stale: for every incident the units sent are those a ranking of the whole fleet by
    road time sends, also where the fastest lie beyond the nearest few in a straight line."""
    imported = await import_sample(database)
    network = await read_network(database.settings.app_dsn, imported.version)
    assert network is not None
    ranking = RoadFirst(road_provider(network))
    admin = await register(client)
    rng = random.Random(7)
    now = datetime.now(UTC)
    fleet = _random_fleet(rng, 600, now)
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, status,"
        " last_location, last_location_at)"
        " SELECT v.id, $1, v.type, 'R ' || v.id, v.status::vehicle_status,"
        " ST_SetSRID(ST_MakePoint(v.lng, v.lat), 4326)::geography, v.at"
        " FROM unnest($2::uuid[], $3::text[], $4::text[], $5::float8[], $6::float8[],"
        " $7::timestamptz[]) AS v(id, type, status, lng, lat, at)",
        uuid.UUID(admin.workspace_id),
        *(
            list(col)
            for col in zip(
                *((v["id"], v["type"], v["status"], v["lng"], v["lat"], v["at"]) for v in fleet),
                strict=True,
            )
        ),
    )
    beyond_nearest = 0
    for _ in range(8):
        scene = Point(lat=rng.uniform(60.1665, 60.1765), lon=rng.uniform(24.9375, 24.9515))
        free = [
            v for v in fleet if v["status"] == "available" and v["at"] > now - timedelta(minutes=10)
        ]
        column = travel_to(
            ranking, [Point(v["lat"], v["lng"]) for v in free], scene, {v["type"] for v in free}
        )
        expected = sorted(
            (int(column.durations[v["type"]][i]), int(column.distance[i]), str(v["id"]))
            for i, v in enumerate(free)
        )[:3]
        created = await report(client, admin, scene)
        response = await dispatch(client, admin, created.json()["data"]["id"], count=3)
        assert response.status_code == 200, response.text
        units = response.json()["data"]["units"]
        assert [(u["travel_s"], u["distance_m"], u["vehicle_id"]) for u in units] == expected
        straight = haversine_to_m([Point(v["lat"], v["lng"]) for v in free], scene)
        nearest = {
            str(free[i]["id"]) for i in np.argsort(straight)[: 4 * (3 + dispatch_service.SPARE)]
        }
        beyond_nearest += any(u["vehicle_id"] not in nearest for u in units)
        for u in units:
            next(v for v in fleet if str(v["id"]) == u["vehicle_id"])["status"] = "in_transit"
    # The walk had to read on past the nearest units for some incidents.
    assert beyond_nearest > 0


async def _fleet_through_the_feed(
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    admin: Session,
    rng: random.Random,
    size: int,
) -> list[dict[str, Any]]:
    """`size` units among the sample's streets, their positions written through the
    tracking feed (so each is snapped as it is stored)."""
    fleet = _random_fleet(rng, size, datetime.now(UTC).replace(microsecond=0))
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, status)"
        " SELECT v.id, $1, v.type, 'F ' || v.id, v.status::vehicle_status"
        " FROM unnest($2::uuid[], $3::text[], $4::text[]) AS v(id, type, status)",
        uuid.UUID(admin.workspace_id),
        [v["id"] for v in fleet],
        [v["type"] for v in fleet],
        [v["status"] for v in fleet],
    )
    batch = {
        "positions": [
            {
                "vehicle_id": str(v["id"]),
                "lat": v["lat"],
                "lng": v["lng"],
                "recorded_at": v["at"].isoformat(),
            }
            for v in fleet
        ]
    }
    stored = await client.post("/api/v1/tracking/batch", json=batch, headers=admin.headers)
    assert stored.status_code in (200, 201), stored.text
    return fleet


def _brute_force(
    ranking: RoadFirst, fleet: list[dict[str, Any]], scene: Point, count: int
) -> list[tuple[int, int, str]]:
    """The `count` best of every free unit with a fresh position, ranked by road."""
    now = datetime.now(UTC)
    free = [
        v for v in fleet if v["status"] == "available" and v["at"] > now - timedelta(minutes=10)
    ]
    points = [Point(v["lat"], v["lng"]) for v in free]
    column = travel_to(ranking, points, scene, {str(v["type"]) for v in free})
    return sorted(
        (int(column.durations[str(v["type"])][i]), int(column.distance[i]), str(v["id"]))
        for i, v in enumerate(free)
    )[:count]


async def test_units_snapped_as_their_positions_are_stored_go_as_a_road_ranking_of_all_sends(
    client: httpx.AsyncClient,
    database: DatabaseUnderTest,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Units whose positions came through the tracking feed are ranked by road in one
    statement, among the sample's one-way streets; so are, beside them, units whose snap
    is missing, stale (moved since by another path) or made on another network version.
    Units of another workspace, snapped and closer, are never sent. For every incident the
    units sent are those a ranking of the whole fleet by road time sends."""
    imported = await import_sample(database)
    network = await read_network(database.settings.app_dsn, imported.version)
    assert network is not None
    ranking = RoadFirst(road_provider(network))
    admin = await register(client)
    other = await register(client, organization="Other Rescue")
    rng = random.Random(11)
    fleet = await _fleet_through_the_feed(client, owner_conn, admin, rng, 400)
    rivals = await _fleet_through_the_feed(client, owner_conn, other, rng, 300)

    # Free units are snapped as their positions are stored; busy ones once free again.
    snapped = await in_workspace(
        owner_conn,
        admin.workspace_id,
        "SELECT status = 'available' AS free, bool_and(snap_edge IS NOT NULL) AS all_snapped,"
        " bool_or(snap_edge IS NOT NULL) AS some_snapped FROM vehicles GROUP BY 1",
    )
    by_state = {r["free"]: (r["all_snapped"], r["some_snapped"]) for r in snapped}
    assert by_state == {True: (True, True), False: (False, False)}
    # Some units lose the use of their snap: none, moved by another path, another version.
    free = [v for v in fleet if v["status"] == "available"]
    missing, moved, old = free[:4], free[4:8], free[8:12]
    for v in moved:
        v["lng"] = rng.uniform(24.9370, 24.9520)
        v["lat"] = rng.uniform(60.1660, 60.1770)
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "UPDATE vehicles SET snap_edge = NULL WHERE id = ANY($1::uuid[])",
        [v["id"] for v in missing],
    )
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "UPDATE vehicles v SET last_location ="
        " ST_SetSRID(ST_MakePoint(x.lng, x.lat), 4326)::geography"
        " FROM unnest($1::uuid[], $2::float8[], $3::float8[]) AS x(id, lng, lat)"
        " WHERE v.id = x.id",
        [v["id"] for v in moved],
        [v["lng"] for v in moved],
        [v["lat"] for v in moved],
    )
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "UPDATE vehicles SET snap_version = snap_version + 1 WHERE id = ANY($1::uuid[])",
        [v["id"] for v in old],
    )

    ranked_in_sql = 0
    best = dispatch_service.road_ranking.best

    async def counted(*args: object, **kwargs: object) -> object:
        nonlocal ranked_in_sql
        found = await best(*args, **kwargs)  # type: ignore[arg-type]
        ranked_in_sql += found is not None
        return found

    monkeypatch.setattr(dispatch_service.road_ranking, "best", counted)
    rival_ids = {str(v["id"]) for v in rivals}
    for n in range(8):
        # Half the scenes right by one of the units whose snap is not usable.
        near = (missing + moved + old)[n] if n % 2 else None
        scene = (
            Point(lat=near["lat"] + 0.00005, lon=near["lng"])
            if near
            else Point(lat=rng.uniform(60.1665, 60.1765), lon=rng.uniform(24.9375, 24.9515))
        )
        expected = _brute_force(ranking, fleet, scene, 3)
        created = await report(client, admin, scene)
        response = await dispatch(client, admin, created.json()["data"]["id"], count=3)
        assert response.status_code == 200, response.text
        units = response.json()["data"]["units"]
        assert [(u["travel_s"], u["distance_m"], u["vehicle_id"]) for u in units] == expected
        assert not rival_ids & {u["vehicle_id"] for u in units}
        for u in units:
            next(v for v in fleet if str(v["id"]) == u["vehicle_id"])["status"] = "in_transit"
    assert ranked_in_sql >= 8
