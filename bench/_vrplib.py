"""Read VRPLIB instances (through ``pyvrp.read``) into the solver's ``Problem``."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from solvers.problem import MAX_TIME, Depot, Point, Problem, Stop, TimeWindow, TravelMatrix, Vehicle
from solvers.solution import Solution

INSTANCES = Path(__file__).resolve().parents[2] / "shared" / "bench" / "instances"

# Scale of the integer matrix relative to the instance's own cost unit.
SCALE = {"round": 1, "dimacs": 10}


@dataclass(frozen=True)
class Instance:
    name: str
    path: Path
    rounding: str  # "round" (CVRPLIB nint) or "dimacs" (x10, truncated)
    bks: float | None = None


def load(path: Path, rounding: str) -> Problem:
    """The instance as a ``Problem``: depots first, then clients in file order.

    Distances and durations are the rounded instance values (so "metres" and "seconds"
    are instance units, times 10 for DIMACS rounding). Fleet and shifts as ``pyvrp.read``
    gives them.
    """
    import pyvrp

    data = pyvrp.read(path, round_func=rounding)
    locs = [d.location for d in data.depots()] + [c.location for c in data.clients()]
    sub = np.ix_(locs, locs)
    dist = np.asarray(data.distance_matrix(0), dtype=np.int64)[sub]
    dur = np.asarray(data.duration_matrix(0), dtype=np.int64)[sub]

    def point(loc: int) -> Point:
        where = data.location(loc)
        return Point(lat=where.y, lon=where.x)

    def window(early: int, late: int) -> TimeWindow:
        return TimeWindow(min(early, MAX_TIME), min(late, MAX_TIME))

    depots = [
        Depot(f"depot{i}", point(d.location), window(d.tw_early, d.tw_late))
        for i, d in enumerate(data.depots())
    ]
    stops = [
        Stop(
            id=str(c.location),
            point=point(c.location),
            demand_kg=float(c.delivery[0]) if c.delivery else 0.0,
            service_time=int(c.service_duration),
            time_window=window(c.tw_early, c.tw_late),
        )
        for c in data.clients()
    ]
    vehicles = []
    for t, vt in enumerate(data.vehicle_types()):
        for k in range(vt.num_available):
            vehicles.append(
                Vehicle(
                    id=f"v{t}-{k}",
                    start_depot=depots[vt.start_depot].id,
                    end_depot=depots[vt.end_depot].id,
                    capacity_kg=float(vt.capacity[0]) if vt.capacity else None,
                    shift=window(vt.tw_early, vt.tw_late),
                    vehicle_type="van",
                )
            )
    matrix = TravelMatrix(distance=dist, durations={"van": dur})
    return Problem(tuple(depots), tuple(stops), tuple(vehicles), matrix)


def cost(solution: Solution, rounding: str) -> float:
    """Total distance in the instance's own unit."""
    return solution.distance_m / SCALE[rounding]


def routes(solution: Solution, problem: Problem) -> list[list[int]]:
    """Routes as client numbers of VRPLIB ``.sol`` files (depot 0, clients 1..n)."""
    return [[int(problem.stops[s].id) for s in r.stops] for r in solution.routes]


def catalogue(root: Path = INSTANCES) -> list[Instance]:
    """Every instance listed in ``bks.csv``, with its rounding convention."""
    out = []
    with (root / "bks.csv").open() as fh:
        for row in csv.DictReader(fh):
            rounding = "dimacs" if "DIMACS" in row["rounding"] else "round"
            path = root / row["kind"] / f"{row['instance']}.vrp"
            out.append(Instance(row["instance"], path, rounding, float(row["bks"])))
    return out
