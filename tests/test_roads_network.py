"""Road networks: the import, and matrices checked against an independent shortest path."""

from __future__ import annotations

import itertools
from pathlib import Path

import asyncpg
import networkx as nx
import numpy as np
import pytest
from pydantic import ValidationError

from core.settings import Settings
from services.roads.imports import OsmImportError, import_network
from services.roads.network import read_network
from solvers.matrix import haversine_to_m
from solvers.problem import Point
from solvers.roads import UNREACHABLE, RoadMatrixProvider, RoadNetwork, Snap
from tests.conftest import DatabaseUnderTest
from tests.roads_helpers import HELSINKI, import_sample, write_village

VAN = 4


async def _network(database: DatabaseUnderTest, version: int) -> RoadNetwork:
    network = await read_network(database.settings.app_dsn, version)
    assert network is not None
    return network


async def _networks(conn: asyncpg.Connection) -> list[tuple[int, str]]:
    rows = await conn.fetch("SELECT version, status FROM roads.networks ORDER BY version")
    return [(r["version"], r["status"]) for r in rows]


async def test_import_switches_versions_and_bad_files_leave_the_network_serving(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    first = await import_sample(database)
    assert first.edges > 1000
    assert await _networks(owner_conn) == [(first.version, "active")]

    empty = tmp_path / "empty.osm.pbf"
    empty.write_bytes(b"")
    corrupt = tmp_path / "corrupt.osm.pbf"
    corrupt.write_bytes(HELSINKI.read_bytes()[:1000] + b"\x00garbage" * 50)
    for path, message in [
        (tmp_path / "missing.osm.pbf", "no such file"),
        (empty, "empty"),
        (corrupt, "not a readable OpenStreetMap extract"),
    ]:
        with pytest.raises(OsmImportError, match=message):
            await import_network(database.owner_dsn, path)
    assert await _networks(owner_conn) == [(first.version, "active")]
    assert (
        await owner_conn.fetchval("SELECT count(*) FROM roads.edges WHERE version = $1", 1)
        == first.edges
    )

    second = await import_sample(database)
    third = await import_sample(database)
    assert await _networks(owner_conn) == [(second.version, "retired"), (third.version, "active")]


def test_the_import_command_reports_a_bad_file_and_exits_non_zero(tmp_path: Path) -> None:
    from scripts.roads import main

    assert main(["import", str(tmp_path / "nowhere.osm.pbf")]) == 2


def test_snap_distance_and_speeds_out_of_range_are_refused_at_start_up() -> None:
    with pytest.raises(ValidationError, match="road_max_snap_m"):
        Settings(road_max_snap_m=0)
    with pytest.raises(ValidationError, match="ROAD_VEHICLE_SPEEDS_KMH"):
        Settings(road_vehicle_speeds_kmh={"truck": 900})  # type: ignore[dict-item]


def _split_graph(
    edges: list[asyncpg.Record], snaps: list[Snap], cost: np.ndarray, mask: int
) -> nx.DiGraph:
    """The edge table as a networkx graph, each snapped point a node splitting its edge."""
    graph = nx.DiGraph()

    def arc(a: object, b: object, w: float) -> None:
        if not graph.has_edge(a, b) or graph[a][b]["w"] > w:
            graph.add_edge(a, b, w=w)

    on_edge: dict[int, list[tuple[float, int]]] = {}
    for i, snap in enumerate(snaps):
        on_edge.setdefault(snap.edge, []).append((snap.fraction, i))
    for index, edge in enumerate(edges):
        forward = edge["forward_mask"] & mask == mask
        backward = edge["backward_mask"] & mask == mask
        chain = [(0.0, ("n", edge["source"]))]
        chain += [(f, ("p", i)) for f, i in sorted(on_edge.get(index, []))]
        chain.append((1.0, ("n", edge["target"])))
        for (fa, a), (fb, b) in itertools.pairwise(chain):
            w = (fb - fa) * cost[index]
            if forward:
                arc(a, b, w)
            if backward:
                arc(b, a, w)
    return graph


@pytest.mark.parametrize("hierarchy_from_arcs", [0, 10**9], ids=["hierarchy", "dijkstra"])
async def test_every_matrix_entry_is_the_independent_shortest_path(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection, hierarchy_from_arcs: int
) -> None:
    imported = await import_sample(database)
    network = await _network(database, imported.version)
    provider = RoadMatrixProvider(network, hierarchy_from_arcs=hierarchy_from_arcs)
    rng = np.random.default_rng(7)
    points = [
        Point(lat=float(rng.uniform(60.1660, 60.1770)), lon=float(rng.uniform(24.9370, 24.9520)))
        for _ in range(25)
    ]
    matrix = provider.matrix(points, ["van"])
    snaps = provider.snaps(points, ["van"])
    edges = await owner_conn.fetch(
        "SELECT source, target, length_m, speed_kmh, forward_mask, backward_mask"
        " FROM roads.edges WHERE version = $1 ORDER BY id",
        imported.version,
    )
    length = np.array([e["length_m"] for e in edges])
    speed = np.minimum(np.array([e["speed_kmh"] for e in edges]), provider.speed_kmh("van")) / 3.6
    offsets = np.array([s.offset_m for s in snaps])
    approach = offsets / speed[[s.edge for s in snaps]]
    checked = 0
    for cost, extra, got in [
        (length, offsets, matrix.distance),
        (length / speed, approach, matrix.durations["van"]),
    ]:
        graph = _split_graph(edges, snaps, cost, VAN)
        for i in range(len(points)):
            reach = nx.single_source_dijkstra_path_length(graph, ("p", i), weight="w")
            for j in range(len(points)):
                if i == j:
                    assert got[i, j] == 0
                    continue
                if ("p", j) not in reach:
                    assert got[i, j] == UNREACHABLE
                    continue
                expected = reach[("p", j)] + extra[i] + extra[j]
                assert abs(got[i, j] - expected) <= 0.5 + 1e-6, (i, j, got[i, j], expected)
                checked += 1
    assert checked > 2 * 25 * 24 * 0.9  # snapped onto the main network: nearly all reachable


async def test_a_one_way_street_is_driven_only_one_way(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    imported = await import_sample(database)
    network = await _network(database, imported.version)
    row = await owner_conn.fetchrow(
        """
        SELECT ST_X(ST_LineInterpolatePoint(geom, 0.25)) AS ax,
               ST_Y(ST_LineInterpolatePoint(geom, 0.25)) AS ay,
               ST_X(ST_LineInterpolatePoint(geom, 0.75)) AS bx,
               ST_Y(ST_LineInterpolatePoint(geom, 0.75)) AS by, length_m
        FROM roads.edges
        WHERE version = $1 AND highway IN ('secondary', 'primary') AND forward_mask & 4 = 4
          AND backward_mask = 0 AND length_m > 80
        ORDER BY length_m DESC LIMIT 1
        """,
        imported.version,
    )
    a, b = Point(lat=row["ay"], lon=row["ax"]), Point(lat=row["by"], lon=row["bx"])
    matrix = RoadMatrixProvider(network).matrix([a, b], ["van"])
    along = row["length_m"] / 2
    assert abs(matrix.distance[0, 1] - along) <= 0.05 * along + 2
    # Back against the flow means going round the block.
    assert matrix.distance[1, 0] > matrix.distance[0, 1] + 50
    assert matrix.durations["van"][1, 0] > matrix.durations["van"][0, 1]


async def test_a_lorry_keeps_off_a_road_closed_to_it_and_islands_are_unreachable(
    database: DatabaseUnderTest, tmp_path: Path
) -> None:
    imported = await import_network(database.owner_dsn, write_village(tmp_path))
    network = await _network(database, imported.version)
    provider = RoadMatrixProvider(network)
    a, b = Point(lat=60.3001, lon=25.3005), Point(lat=60.3001, lon=25.3035)
    island = Point(lat=60.3001, lon=25.3220)
    van = provider.matrix([a, b, island], ["van"])
    truck = provider.matrix([a, b, island], ["truck"])
    direct = van.distance[0, 1]
    assert 150 < direct < 190  # 0.003 degrees of longitude at 60.3 N, plus the snaps
    assert truck.distance[0, 1] > direct + 600  # up to C, across and down to B
    assert truck.durations["truck"][0, 1] > van.durations["van"][0, 1]
    assert van.distance[0, 2] == van.distance[2, 0] == UNREACHABLE
    assert truck.durations["truck"][2, 1] == UNREACHABLE
    # A point beyond the snap distance of every road is off the network.
    far = Point(lat=60.3100, lon=25.3000)
    assert network.snap([far], ["van"], 200.0) == [None]


async def test_the_demo_workspace_lies_inside_the_sample_network(
    database: DatabaseUnderTest,
) -> None:
    from services.demo import CUSTOMERS, DEPOT

    imported = await import_sample(database)
    network = await _network(database, imported.version)
    points = [Point(lat=lat, lon=lng) for _, lng, lat in (DEPOT, *CUSTOMERS)]
    matrix = RoadMatrixProvider(network).matrix(points, ["van", "truck"])
    assert (matrix.distance < UNREACHABLE).all()


def sample_points(seed: int, n: int) -> list[Point]:
    """`n` random points among the sample's streets."""
    rng = np.random.default_rng(seed)
    return [
        Point(lat=float(rng.uniform(60.1660, 60.1770)), lon=float(rng.uniform(24.9370, 24.9520)))
        for _ in range(n)
    ]


async def test_durations_to_one_incident_are_the_matrix_column(
    database: DatabaseUnderTest,
) -> None:
    from solvers.matrix import durations_to

    imported = await import_sample(database)
    provider = RoadMatrixProvider(await _network(database, imported.version))
    points = sample_points(11, 30)
    target = Point(lat=60.1705, lon=24.9440)
    column = provider.matrix([target, *points], ["van"]).durations["van"][1:, 0]
    got = durations_to(provider, points, target, "van")
    assert np.abs(got - column).max() <= 1
    assert (got > 0).all()


async def test_travel_to_one_scene_is_the_matrix_column_for_every_type(
    database: DatabaseUnderTest,
) -> None:
    """What dispatch ranks with: metres and seconds per type towards one point, snapped as
    the whole matrix snaps them, equal to its column."""
    from solvers.matrix import travel_to

    imported = await import_sample(database)
    provider = RoadMatrixProvider(await _network(database, imported.version))
    points = sample_points(12, 40)
    target = Point(lat=60.1705, lon=24.9440)
    types = ["car", "van", "truck", "bike"]
    matrix = provider.matrix([target, *points], types)
    column = travel_to(provider, points, target, types)
    assert np.array_equal(column.distance, matrix.distance[1:, 0])
    for vtype in types:
        assert np.array_equal(column.durations[vtype], matrix.durations[vtype][1:, 0])
    # A snap remembered from the first call answers the second alike.
    again = travel_to(provider, points, target, types)
    assert np.array_equal(again.durations["bike"], column.durations["bike"])
    # No point is nearer by road than the straight line at the network's top speed allows.
    straight = haversine_to_m(points, target)
    for vtype in types:
        least = np.array([provider.least_seconds(float(m), vtype) for m in straight])
        assert (column.durations[vtype] >= np.floor(least)).all()


async def test_the_bound_from_a_scene_search_holds_for_every_point_and_beats_the_top_speed(
    database: DatabaseUnderTest,
) -> None:
    """What stops dispatch reading candidates: from the search that ranks points towards a
    scene, the least time from anywhere a given distance away. No point of the sample takes
    less, every point within `seconds` lies within `radius(seconds)`, and the bound is
    tighter than the straight line at the network's top speed."""
    from solvers.matrix import travel_to

    imported = await import_sample(database)
    provider = RoadMatrixProvider(await _network(database, imported.version))
    points = sample_points(21, 1500)
    types = ["ambulance", "car"]
    for target in sample_points(22, 6):
        column = travel_to(provider, points, target, types)
        straight = haversine_to_m(points, target)
        for vtype in types:
            bound = column.bounds[vtype]
            least = np.array([bound.least_seconds(float(m)) for m in straight])
            seconds = column.durations[vtype]
            assert (seconds >= np.ceil(least - 0.5 - 1e-6)).all()
            for limit in (10, 20, 40):
                assert (straight[seconds <= limit] <= bound.radius(limit + 0.5)).all()
            line = np.array([provider.least_seconds(float(m), vtype) for m in straight])
            assert (least >= line).all() and (least > line + 5).any()
