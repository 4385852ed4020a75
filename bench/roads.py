"""Road networks: matrix time against pgRouting, and what road travel is worth to a plan.

    nice -n 5 .venv/bin/python bench/roads.py --database omniroute_bench_roads
    .venv/bin/python bench/roads.py --side 292 --repetitions 5 --plans 20 --json

Works in its own database (recreated from the PostGIS template, which carries pgRouting,
and migrated). Imports the shipped central-Helsinki sample and a generated city with the
project's own import command, then, on each network and for 50 and 200 random points:
- ours: `RoadMatrixProvider.matrix(points, ["van"])`, distance and van durations with the
  snapping; p50 over --repetitions after one warm-up (the hierarchy's one-off build is
  reported apart);
- pgRouting: `pgr_dijkstraCostMatrix` over the same edges (van access, length as cost)
  between the points' nearest vertices; one cost matrix, so it does half our work;
- agreement: our costs between those same vertices against pgRouting's.

The generated city: a `side x side` grid of junctions about 100 m apart (jittered by up to
15 m), every tenth street a 50 km/h primary road and the others 30 km/h residential
streets, a tenth of the residential segments one-way (random direction) and a twentieth
missing; each street segment one OSM way. Grids have no hierarchy of their own, the hard
case for contraction hierarchies.

Dispatch: road seconds from --vehicles random positions (those on the network) to each of
up to 60 random incidents with `durations_to` (one backward search), p50 and p99, with the
vehicles snapped in each call and with their snaps kept between calls.

What road travel is worth: on the sample, --plans random instances (a depot and 15 stops)
are planned once with great-circle travel and once with road travel (1 s each), and both
plans are priced by road travel: the extra driven distance and time of the great-circle
plan.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import asyncpg
import numpy as np
from _common import HELSINKI, HELSINKI_BOX, owner_url, prepare_database
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from services.roads.imports import import_network
from services.roads.network import read_network
from solvers.matrix import HaversineProvider
from solvers.problem import Depot, Point, Problem, Stop, Vehicle
from solvers.roads import UNREACHABLE, RoadMatrixProvider, RoadNetwork
from solvers.selector import solve_problem

VAN = 4


def city_osm(side: int, seed: int) -> tuple[str, tuple[float, float, float, float]]:
    """The generated city as an `.osm` document, and its bounding box."""
    rng = np.random.default_rng(seed)
    lat0, lng0 = 60.0, 25.0
    dlat = 100 / 111_195
    dlng = dlat / np.cos(np.radians(lat0))
    jitter = rng.uniform(-0.15, 0.15, (side, side, 2))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="bench">']
    for r in range(side):
        for c in range(side):
            lat = lat0 + (r + jitter[r, c, 0]) * dlat
            lng = lng0 + (c + jitter[r, c, 1]) * dlng
            lines.append(
                f'<node id="{r * side + c + 1}" version="1" lat="{lat:.7f}" lon="{lng:.7f}"/>'
            )
    way = 0
    for r in range(side):
        for c in range(side):
            for dr, dc in ((0, 1), (1, 0)):
                r2, c2 = r + dr, c + dc
                if r2 >= side or c2 >= side or rng.random() < 0.05:
                    continue
                primary = (dr == 0 and r % 10 == 0) or (dc == 0 and c % 10 == 0)
                a, b = r * side + c + 1, r2 * side + c2 + 1
                tags = {"highway": "primary" if primary else "residential"}
                if not primary and rng.random() < 0.1:
                    tags["oneway"] = "yes"
                    if rng.random() < 0.5:
                        a, b = b, a
                way += 1
                lines.append(f'<way id="{way}" version="1"><nd ref="{a}"/><nd ref="{b}"/>')
                lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
                lines.append("</way>")
    lines.append("</osm>")
    box = (lng0, lat0, lng0 + (side - 1) * dlng, lat0 + (side - 1) * dlat)
    return "\n".join(lines), box


async def load(database: str, version: int) -> RoadNetwork:
    url = owner_url(database).replace("postgresql://", "postgresql+asyncpg://")
    network = await read_network(url, version)
    assert network is not None
    return network


def random_points(rng: np.random.Generator, box: tuple[float, ...], n: int) -> list[Point]:
    return [
        Point(lat=float(rng.uniform(box[1], box[3])), lon=float(rng.uniform(box[0], box[2])))
        for _ in range(n)
    ]


def p50(values: list[float]) -> float:
    return round(statistics.median(values), 4)


async def pgr_matrix(
    conn: asyncpg.Connection, version: int, vertices: list[int]
) -> tuple[float, dict]:
    # pgRouting takes the edges as a query text; only integers are put in it.
    edges = (
        "SELECT id, source, target,"  # noqa: S608
        f" CASE WHEN forward_mask & {VAN} = {VAN} THEN length_m ELSE -1 END AS cost,"
        f" CASE WHEN backward_mask & {VAN} = {VAN} THEN length_m ELSE -1 END AS reverse_cost"
        f" FROM roads.edges WHERE version = {int(version)}"
    )
    started = time.perf_counter()
    rows = await conn.fetch(
        "SELECT start_vid, end_vid, agg_cost FROM pgr_dijkstraCostMatrix($1, $2::bigint[], true)",
        edges,
        vertices,
    )
    elapsed = time.perf_counter() - started
    return elapsed, {(r["start_vid"], r["end_vid"]): r["agg_cost"] for r in rows}


async def matrices(
    conn: asyncpg.Connection, network: RoadNetwork, box: tuple[float, ...], args: argparse.Namespace
) -> dict[str, Any]:
    provider = RoadMatrixProvider(network)
    rng = np.random.default_rng(args.seed)
    figures: dict[str, Any] = {"edges": network.num_edges}
    graph = network.graph("distance", ["van"])
    figures["arcs"] = len(graph.tail)
    big = 2 * network.num_edges >= provider.hierarchy_from_arcs
    if big:
        started = time.perf_counter()
        _ = graph.hierarchy
        _ = network.graph("time", ["van"], provider.speed_kmh("van")).hierarchy
        figures["hierarchy_build_s"] = round(time.perf_counter() - started, 2)
        figures["shortcuts"] = graph.hierarchy.shortcuts
    for size in (50, 200):
        points = random_points(rng, box, size)
        provider.matrix(points, ["van"])  # warm-up (compiles the kernels once)
        ours = []
        for _ in range(args.repetitions):
            started = time.perf_counter()
            provider.matrix(points, ["van"])
            ours.append(time.perf_counter() - started)
        snaps = provider.snaps(points, ["van"])
        vertices = sorted({int(network.source[s.edge]) for s in snaps})
        theirs = []
        costs: dict = {}
        for _ in range(args.pgr_repetitions):
            elapsed, costs = await pgr_matrix(conn, network.version, vertices)
            theirs.append(elapsed)
        mine = vertex_costs(graph, vertices, big)
        worst = 0.0
        for i, a in enumerate(vertices):
            for j, b in enumerate(vertices):
                if i != j and np.isfinite(mine[i, j]) and (a, b) in costs:
                    worst = max(worst, abs(mine[i, j] - costs[(a, b)]))
        missing = sum(
            1
            for i, a in enumerate(vertices)
            for j, b in enumerate(vertices)
            if i != j and np.isfinite(mine[i, j]) != ((a, b) in costs)
        )
        figures[f"n{size}"] = {
            "ours_p50_s": p50(ours),
            "pgr_dijkstraCostMatrix_p50_s": p50(theirs),
            "speedup": round(p50(theirs) / p50(ours), 1),
            "max_abs_diff_m": round(worst, 6),
            "reachability_disagreements": missing,
        }
    return figures


def dispatch(network: RoadNetwork, box: tuple[float, ...], args: argparse.Namespace) -> dict:
    """Road seconds from --vehicles positions to one incident, as dispatch ranks them: with
    the vehicles snapped in each call, and with their snaps kept between calls."""
    provider = RoadMatrixProvider(network)
    rng = np.random.default_rng(args.seed + 2)
    vehicles = random_points(rng, box, args.vehicles)
    usable = [p for p, s in zip(vehicles, network.snap(vehicles, ["van"], 200.0), strict=True) if s]
    kept = provider.snaps(usable, ["van"])
    incidents = [
        p for p in random_points(rng, box, 61) if network.snap([p], ["van"], 200.0)[0] is not None
    ]
    figures: dict[str, Any] = {"vehicles": len(usable), "incidents": len(incidents) - 1}
    for name, snaps in (("snapping", None), ("snaps_kept", kept)):
        times = []
        for incident in incidents:
            started = time.perf_counter()
            provider.durations_to(usable, incident, "van", snaps=snaps)
            times.append(time.perf_counter() - started)
        times = times[1:]  # the first builds the graph
        figures[name] = {
            "p50_ms": round(1000 * float(np.percentile(times, 50)), 2),
            "p99_ms": round(1000 * float(np.percentile(times, 99)), 2),
        }
    return figures


def vertex_costs(graph: Any, vertices: list[int], big: bool) -> np.ndarray:
    """Our costs between junctions: through the hierarchy on a large network, else Dijkstra."""
    if big:
        ends = [[(v, 0.0)] for v in vertices]
        return np.asarray(graph.hierarchy.many_to_many(ends, ends))
    nodes = graph.network.num_nodes
    arcs = csr_array((graph.weight, (graph.tail, graph.head)), shape=(nodes, nodes))
    return np.asarray(dijkstra(arcs, indices=vertices))[:, vertices]


def plan_cost(problem: Problem, road: Any, order: list[list[int]]) -> tuple[int, int]:
    """Distance and van time of visiting `order` (stop indexes per route) by road."""
    distance = duration = 0
    for stops in order:
        path = [0, *(1 + s for s in stops), 0]
        for a, b in itertools.pairwise(path):
            distance += int(road.distance[a, b])
            duration += int(road.durations["van"][a, b])
    return distance, duration


def worth(network: RoadNetwork, args: argparse.Namespace) -> dict[str, Any]:
    rng = np.random.default_rng(args.seed + 1)
    road = RoadMatrixProvider(network)
    extra_distance, extra_time = [], []
    for _ in range(args.plans):
        while True:
            points = random_points(rng, HELSINKI_BOX, 16)
            matrix = road.matrix(points, ["van"])
            if (matrix.distance < UNREACHABLE).all():
                break
        depots = [Depot(id="depot", point=points[0])]
        stops = [Stop(id=str(i), point=p, service_time=120) for i, p in enumerate(points[1:])]
        vehicles = [Vehicle(id="van", start_depot="depot", end_depot="depot", vehicle_type="van")]
        priced = []
        for provider in (HaversineProvider(), road):
            problem = Problem.build(depots, stops, vehicles, provider)
            solution = solve_problem(problem, time_limit=1.0, seed=1, mode="classical")
            order = [[int(v.stop_id) for v in r.visits] for r in solution.routes]
            priced.append(plan_cost(problem, matrix, order))
        (gc_d, gc_t), (rd_d, rd_t) = priced
        extra_distance.append(100 * (gc_d - rd_d) / rd_d)
        extra_time.append(100 * (gc_t - rd_t) / rd_t)
    return {
        "instances": args.plans,
        "great_circle_plan_extra_distance_pct": {
            "mean": round(float(np.mean(extra_distance)), 2),
            "median": round(float(np.median(extra_distance)), 2),
            "max": round(float(np.max(extra_distance)), 2),
        },
        "great_circle_plan_extra_time_pct": {
            "mean": round(float(np.mean(extra_time)), 2),
            "median": round(float(np.median(extra_time)), 2),
            "max": round(float(np.max(extra_time)), 2),
        },
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    await prepare_database(args.database)
    dsn = owner_url(args.database)
    report: dict[str, Any] = {}
    started = time.perf_counter()
    sample = await import_network(dsn, HELSINKI)
    report["sample_import_s"] = round(time.perf_counter() - started, 2)
    with tempfile.TemporaryDirectory() as folder:
        document, box = city_osm(args.side, args.seed)
        path = Path(folder) / "city.osm"
        path.write_text(document)
        started = time.perf_counter()
        city = await import_network(dsn, path, name="generated city")
        report["city_import_s"] = round(time.perf_counter() - started, 2)
    conn = await asyncpg.connect(dsn)
    try:
        for name, version, area in (
            ("sample", sample.version, HELSINKI_BOX),
            ("city", city.version, box),
        ):
            network = await load(args.database, version)
            report[name] = await matrices(conn, network, area, args)
            report[name]["dispatch"] = dispatch(network, area, args)
    finally:
        await conn.close()
    report["worth"] = worth(await load(args.database, sample.version), args)
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", default="omniroute_bench_roads")
    parser.add_argument("--side", type=int, default=292, help="junctions per side of the city")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--pgr-repetitions", type=int, default=3)
    parser.add_argument("--plans", type=int, default=20)
    parser.add_argument("--vehicles", type=int, default=10_000, help="dispatch candidates")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    arguments = parser.parse_args()
    result = asyncio.run(main(arguments))
    print(json.dumps(result, indent=None if arguments.json else 2))
