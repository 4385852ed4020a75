"""Problem factories, a brute-force reference, and one real Solomon instance."""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from solvers.problem import Depot, Point, Problem, Stop, TimeWindow, TravelMatrix, Vehicle

INSTANCES = Path(__file__).resolve().parents[3] / "shared" / "bench" / "instances"

MakeProblem = Callable[..., Problem]


def make_problem(
    n: int,
    *,
    vehicles: int = 1,
    seed: int = 0,
    capacity_kg: float | None = None,
    windows: bool = False,
    service: int = 0,
) -> Problem:
    """``n`` stops scattered over ~10 km around a depot, identical vehicles."""
    rng = random.Random(seed)
    depot = Depot("depot", Point(52.52, 13.40))
    stops = []
    for i in range(n):
        window = TimeWindow()
        if windows:
            start = rng.randrange(0, 4 * 3600, 60)
            window = TimeWindow(start, start + rng.randrange(1800, 3 * 3600, 60))
        stops.append(
            Stop(
                f"s{i}",
                Point(52.52 + rng.uniform(-0.05, 0.05), 13.40 + rng.uniform(-0.08, 0.08)),
                demand_kg=rng.randint(5, 40),
                demand_m3=round(rng.uniform(0.1, 1.0), 2),
                service_time=service,
                time_window=window,
            )
        )
    fleet = [Vehicle(f"v{i}", "depot", capacity_kg=capacity_kg) for i in range(vehicles)]
    return Problem.build([depot], stops, fleet)


def brute_force(problem: Problem) -> float:
    """Least cost serving every stop, over all orders and splits (identical vehicles)."""
    n, k = problem.num_stops, len(problem.vehicles)
    best = math.inf
    for perm in itertools.permutations(range(n)):
        for cuts in itertools.combinations_with_replacement(range(n + 1), k - 1):
            bounds = [0, *cuts, n]
            routes = [perm[a:b] for a, b in itertools.pairwise(bounds)]
            total = 0.0
            for v, seq in enumerate(routes):
                metres = _feasible_length(problem, v, seq)
                if metres is None:
                    break
                total += metres / 1000 * problem.vehicles[v].cost_per_km
            else:
                best = min(best, total)
    return best


def _feasible_length(problem: Problem, vehicle: int, seq: tuple[int, ...]) -> int | None:
    veh = problem.vehicles[vehicle]
    if (
        veh.capacity_kg is not None
        and sum(problem.stops[s].demand_kg for s in seq) > veh.capacity_kg
    ):
        return None
    dist, dur = problem.matrix.distance, problem.matrix.duration(veh.vehicle_type)
    path = [0, *(1 + s for s in seq), 0]
    t = veh.shift.start
    for a, b in itertools.pairwise(path):
        t += int(dur[a, b])
        if b > 0:
            stop = problem.stops[b - 1]
            t = max(t, stop.time_window.start)
            if t > stop.time_window.end:
                return None
            t += stop.service_time
    if t > veh.shift.end:
        return None
    return sum(int(dist[a, b]) for a, b in itertools.pairwise(path))


@pytest.fixture
def problem_factory() -> MakeProblem:
    return make_problem


@pytest.fixture
def reference() -> Callable[[Problem], float]:
    return brute_force


def solomon(name: str, customers: int) -> Problem:
    """The first ``customers`` customers of a Solomon instance, DIMACS distances (x10)."""
    vrplib = pytest.importorskip("vrplib")
    path = INSTANCES / "vrptw" / f"{name}.vrp"
    if not path.exists():
        pytest.skip(f"benchmark instances not found at {INSTANCES} (../shared is absent)")
    inst = vrplib.read_instance(str(path))
    keep = list(range(customers + 1))
    xy = np.asarray(inst["node_coord"], dtype=float)[keep]
    dist = (10 * np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    tw = (10 * np.asarray(inst["time_window"], dtype=float)[keep]).astype(int)
    demand = np.asarray(inst["demand"])[keep]
    service = np.broadcast_to(np.asarray(inst["service_time"]), (len(inst["demand"]),))[keep]
    depot = Depot("0", Point(xy[0, 1], xy[0, 0]), TimeWindow(int(tw[0, 0]), int(tw[0, 1])))
    stops = [
        Stop(
            str(i),
            Point(xy[i, 1], xy[i, 0]),
            demand_kg=float(demand[i]),
            service_time=int(10 * service[i]),
            time_window=TimeWindow(int(tw[i, 0]), int(tw[i, 1])),
        )
        for i in range(1, customers + 1)
    ]
    fleet = [
        Vehicle(f"v{i}", "0", capacity_kg=float(inst["capacity"]))
        for i in range(int(inst.get("vehicles", customers)))
    ]
    matrix = TravelMatrix(distance=dist, durations={"van": dist})
    return Problem((depot,), tuple(stops), tuple(fleet), matrix)


@pytest.fixture(scope="session")
def c101_25() -> Problem:
    """First 25 customers of Solomon C101 (capacity 200, service 90, tight windows)."""
    return solomon("C101", 25)
