"""Independent check of a solution against its problem.

Recomputes loads, distances and times from the problem data alone; nothing here trusts the
solver that produced the solution (nor ``solvers.schedule``).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Literal

from solvers.problem import Problem
from solvers.solution import Route, Solution

ViolationKind = Literal[
    "coverage",  # a stop served twice, never, or both served and unassigned; bad indices
    "vehicle_type",
    "capacity",
    "time_window",
    "shift",  # departure or return outside the vehicle's shift or the depot's hours
    "range",
    "schedule",  # times that do not follow from travel, waiting and service times
    "totals",  # reported distance, loads or cost that do not match the routes
]

_EPS = 1e-6


@dataclass(frozen=True, slots=True)
class Violation:
    kind: ViolationKind
    detail: str


class InvalidSolutionError(AssertionError):
    """A solver returned a solution that breaks a constraint."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        lines = "; ".join(f"{v.kind}: {v.detail}" for v in violations[:10])
        super().__init__(f"{len(violations)} violation(s): {lines}")


def validate(problem: Problem, solution: Solution) -> list[Violation]:
    """Every violated constraint of ``solution``; empty when it is valid."""
    out: list[Violation] = []
    _check_coverage(problem, solution, out)
    vehicles_seen: set[int] = set()
    for route in solution.routes:
        if not 0 <= route.vehicle < len(problem.vehicles):
            out.append(Violation("coverage", f"route for unknown vehicle {route.vehicle}"))
            continue
        if route.vehicle in vehicles_seen:
            out.append(Violation("coverage", f"vehicle {route.vehicle_id} has two routes"))
        vehicles_seen.add(route.vehicle)
        if any(not 0 <= v.stop < problem.num_stops for v in route.visits):
            continue  # already reported; nothing else can be checked on this route
        _check_route(problem, route, out)
    cost = sum(
        r.distance_m / 1000 * problem.vehicles[r.vehicle].cost_per_km
        for r in solution.routes
        if 0 <= r.vehicle < len(problem.vehicles)
    )
    if not math.isclose(cost, solution.cost, rel_tol=1e-9, abs_tol=1e-6):
        out.append(Violation("totals", f"cost {solution.cost} but routes cost {cost}"))
    return out


def assert_valid(problem: Problem, solution: Solution) -> None:
    """Raise ``InvalidSolutionError`` listing the violations, if any."""
    violations = validate(problem, solution)
    if violations:
        raise InvalidSolutionError(violations)


def _check_coverage(problem: Problem, solution: Solution, out: list[Violation]) -> None:
    count = [0] * problem.num_stops
    for route in solution.routes:
        for visit in route.visits:
            if not 0 <= visit.stop < problem.num_stops:
                out.append(Violation("coverage", f"unknown stop index {visit.stop}"))
                continue
            count[visit.stop] += 1
            if problem.stops[visit.stop].id != visit.stop_id:
                out.append(Violation("coverage", f"stop {visit.stop} is not {visit.stop_id!r}"))
    for item in solution.unassigned:
        if not 0 <= item.stop < problem.num_stops:
            out.append(Violation("coverage", f"unknown unassigned stop {item.stop}"))
            continue
        count[item.stop] += 1
    for stop, n in enumerate(count):
        sid = problem.stops[stop].id
        if n == 0:
            out.append(Violation("coverage", f"stop {sid} neither served nor unassigned"))
        elif n > 1:
            out.append(Violation("coverage", f"stop {sid} appears {n} times"))


def _check_route(problem: Problem, route: Route, out: list[Violation]) -> None:
    veh = problem.vehicles[route.vehicle]
    name = veh.id
    if route.vehicle_id != name:
        out.append(
            Violation("coverage", f"route of vehicle {route.vehicle} says {route.vehicle_id}")
        )
    dist = problem.matrix.distance
    dur = problem.matrix.duration(veh.vehicle_type)
    depot_ids = [d.id for d in problem.depots]
    start_loc = depot_ids.index(veh.start_depot)
    end_loc = depot_ids.index(veh.end_depot or veh.start_depot)
    stops = [problem.stops[v.stop] for v in route.visits]

    for stop in stops:
        if stop.vehicle_type is not None and stop.vehicle_type != veh.vehicle_type:
            out.append(
                Violation(
                    "vehicle_type",
                    f"{name} ({veh.vehicle_type}) serves {stop.id} which needs {stop.vehicle_type}",
                )
            )

    kg = sum(s.demand_kg for s in stops)
    m3 = sum(s.demand_m3 for s in stops)
    for label, load, cap in (("kg", kg, veh.capacity_kg), ("m3", m3, veh.capacity_m3)):
        if cap is not None and load > cap + _EPS:
            out.append(Violation("capacity", f"{name} carries {load:g} {label} > {cap:g}"))
    if abs(kg - route.load_kg) > _EPS or abs(m3 - route.load_m3) > _EPS:
        out.append(Violation("totals", f"{name} reports loads {route.load_kg}/{route.load_m3}"))

    locs = [start_loc, *(len(problem.depots) + v.stop for v in route.visits), end_loc]
    metres = sum(int(dist[a, b]) for a, b in itertools.pairwise(locs))
    if metres != route.distance_m:
        out.append(Violation("totals", f"{name} reports {route.distance_m} m, drives {metres} m"))
    if veh.max_range_km is not None and metres > veh.max_range_km * 1000 + _EPS:
        out.append(Violation("range", f"{name} drives {metres} m > {veh.max_range_km} km"))

    start_depot = problem.depots[start_loc]
    end_depot = problem.depots[end_loc]
    if route.departure < max(veh.shift.start, start_depot.time_window.start):
        out.append(Violation("shift", f"{name} leaves at {route.departure}, before its shift"))
    if route.arrival > min(veh.shift.end, end_depot.time_window.end):
        out.append(Violation("shift", f"{name} returns at {route.arrival}, after its shift"))

    ready = route.departure
    for visit, stop, (a, b) in zip(route.visits, stops, itertools.pairwise(locs), strict=False):
        if visit.arrival != ready + int(dur[a, b]):
            out.append(Violation("schedule", f"{name} arrives at {stop.id} at {visit.arrival}"))
        if visit.start < visit.arrival or visit.start < stop.time_window.start:
            out.append(Violation("schedule", f"{name} starts {stop.id} too early"))
        if visit.departure != visit.start + stop.service_time:
            out.append(Violation("schedule", f"{name} leaves {stop.id} before service ends"))
        if visit.start > stop.time_window.end:
            out.append(
                Violation("time_window", f"{name} starts {stop.id} at {visit.start} > window end")
            )
        ready = visit.departure
    if route.arrival != ready + int(dur[locs[-2], locs[-1]]):
        out.append(Violation("schedule", f"{name} is back at {route.arrival}, inconsistent"))
