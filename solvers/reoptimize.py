"""Re-optimise a plan in progress: completed stops stay fixed, the rest is solved again.

Each vehicle on the road starts the new plan from where it is, at the current time, with
the capacity and range it has left. The work is a sub-problem of the original: the
remaining stops, and one extra depot per vehicle on the road (its current position).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from solvers.matrix import HaversineProvider, MatrixProvider
from solvers.problem import MAX_TIME, Depot, Point, Problem, TimeWindow, TravelMatrix
from solvers.selector import SelectorParams, solve_problem
from solvers.solution import OptimizationMode, Solution


@dataclass(frozen=True)
class VehicleProgress:
    """Where a vehicle stands: the stops it has served and its current position."""

    vehicle_id: str
    completed: tuple[str, ...]
    """Stop ids served so far, in order; they are not planned again."""
    position: Point | None = None
    """Current position; ``None`` means at the last completed stop (or the start depot)."""
    driven_m: int | None = None
    """Distance driven so far; ``None`` means along the matrix through the completed stops."""


@dataclass(frozen=True)
class Reoptimized:
    fixed: Mapping[str, tuple[str, ...]]
    """Vehicle id to the stop ids it has completed."""
    problem: Problem
    """The sub-problem that was solved: remaining stops, vehicles from their positions."""
    solution: Solution
    """Plan for the remaining stops; stop and vehicle ids are the original ones."""


def reoptimize(
    problem: Problem,
    progress: Sequence[VehicleProgress],
    *,
    now: int,
    time_limit: float = 5.0,
    seed: int = 0,
    mode: OptimizationMode = "classical",
    provider: MatrixProvider | None = None,
    params: SelectorParams | None = None,
) -> Reoptimized:
    """Plan the stops not yet served, from time ``now`` on.

    ``provider`` computes travel from explicit positions (haversine by default); it is not
    needed when every vehicle stands at a stop or depot of the problem.
    """
    sub = remaining_problem(problem, progress, now=now, provider=provider)
    solution = solve_problem(sub, time_limit=time_limit, seed=seed, mode=mode, params=params)
    fixed = {p.vehicle_id: tuple(p.completed) for p in progress}
    return Reoptimized(fixed=fixed, problem=sub, solution=solution)


def remaining_problem(
    problem: Problem,
    progress: Sequence[VehicleProgress],
    *,
    now: int,
    provider: MatrixProvider | None = None,
) -> Problem:
    """The sub-problem of the stops still to serve, from ``now`` and the vehicles' positions."""
    stop_of = problem.stop_index()
    vehicle_of = {v.id: i for i, v in enumerate(problem.vehicles)}
    done: set[int] = set()
    for p in progress:
        if p.vehicle_id not in vehicle_of:
            raise ValueError(f"unknown vehicle {p.vehicle_id!r}")
        for sid in p.completed:
            if sid not in stop_of or stop_of[sid] in done:
                raise ValueError(f"completed stop {sid!r} is unknown or listed twice")
            done.add(stop_of[sid])
    remaining = [s for s in range(problem.num_stops) if s not in done]

    # Location sources of the sub-problem: an index into the old matrix, or a new point.
    sources: list[int | Point] = list(range(len(problem.depots)))
    depots = list(problem.depots)
    vehicles = [
        replace(v, shift=TimeWindow(min(max(v.shift.start, now), v.shift.end), v.shift.end))
        for v in problem.vehicles
    ]
    for p in progress:
        v = vehicle_of[p.vehicle_id]
        veh = problem.vehicles[v]
        path = [
            problem.start_location(v),
            *(problem.stop_location(stop_of[s]) for s in p.completed),
        ]
        here: int | Point = p.position if p.position is not None else path[-1]
        driven = p.driven_m
        if driven is None:
            driven = sum(int(problem.matrix.distance[a, b]) for a, b in itertools.pairwise(path))
        served = [problem.stops[stop_of[s]] for s in p.completed]
        depot = Depot(f"{veh.id}@{now}", _point_of(problem, here), TimeWindow(now, MAX_TIME))
        depots.append(depot)
        sources.append(here)
        vehicles[v] = replace(
            vehicles[v],
            start_depot=depot.id,
            end_depot=veh.end_depot or veh.start_depot,
            capacity_kg=_left(veh.capacity_kg, sum(s.demand_kg for s in served)),
            capacity_m3=_left(veh.capacity_m3, sum(s.demand_m3 for s in served)),
            max_range_km=_left(veh.max_range_km, driven / 1000),
        )
    sources += [problem.stop_location(s) for s in remaining]
    matrix = _matrix(problem, sources, provider or HaversineProvider())
    return Problem(
        depots=tuple(depots),
        stops=tuple(problem.stops[s] for s in remaining),
        vehicles=tuple(vehicles),
        matrix=matrix,
    )


def _left(limit: float | None, used: float) -> float | None:
    return None if limit is None else max(0.0, limit - used)


def _point_of(problem: Problem, where: int | Point) -> Point:
    if isinstance(where, Point):
        return where
    points = [d.point for d in problem.depots] + [s.point for s in problem.stops]
    return points[where]


def _matrix(problem: Problem, sources: list[int | Point], provider: MatrixProvider) -> TravelMatrix:
    """Old entries where both ends are known locations; the provider's for new points."""
    known = np.array([s if isinstance(s, int) else 0 for s in sources])
    new = np.array([isinstance(s, Point) for s in sources])
    distance = problem.matrix.distance[np.ix_(known, known)].copy()
    durations = {t: m[np.ix_(known, known)].copy() for t, m in problem.matrix.durations.items()}
    if new.any():
        fresh = provider.matrix([_point_of(problem, s) for s in sources], durations.keys())
        touched = new[:, None] | new[None, :]
        distance[touched] = fresh.distance[touched]
        for t in durations:
            durations[t][touched] = fresh.duration(t)[touched]
    return TravelMatrix(distance=distance, durations=durations)
