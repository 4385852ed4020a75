"""Between the database and the solvers: the canonical problem of a route (what is hashed,
cached and handed to a worker) and the canonical result a worker hands back.

Times are seconds from the route's planned start; stops are referred to by their index in
the submitted order, so that identical problems share a cache entry whatever route or
stop ids they come from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson

from solvers.matrix import HaversineProvider, MatrixProvider
from solvers.problem import MAX_TIME, Depot, Point, Problem, Stop, TimeWindow, Vehicle
from solvers.roads import UNREACHABLE
from solvers.schedule import build_route
from solvers.solution import Solution

CANONICAL_VERSION = 1


@dataclass(frozen=True, slots=True)
class StopSpec:
    location_id: str
    lng: float
    lat: float
    load_kg: float
    service_s: int
    window: tuple[int, int] | None


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    id: str
    vehicle_type: str
    capacity_kg: float | None
    capacity_m3: float | None
    max_range_km: float | None
    shift: tuple[int, int]


def seconds_from(origin: datetime, moment: datetime) -> int:
    return int((moment - origin).total_seconds())


def shift_window(origin: datetime, start_hhmm: str | None, end_hhmm: str | None) -> tuple[int, int]:
    """The constraints' HH:MM shift (UTC, on the planned start's day) in seconds from origin;
    a shift that began before the origin starts at the origin."""

    def at(hhmm: str) -> int:
        hours, minutes = (int(part) for part in hhmm.split(":"))
        moment = origin.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        return seconds_from(origin, moment)

    start = max(0, at(start_hhmm)) if start_hhmm else 0
    end = at(end_hhmm) if end_hhmm else MAX_TIME
    return start, max(start, end)


def canonical_problem(
    *,
    mode: str,
    optimize_for: str,
    planned_start: datetime,
    depot: tuple[str, float, float],
    vehicles: Sequence[VehicleSpec],
    stops: Sequence[StopSpec],
    travel: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`travel` is how the plan is priced (`services.roads.travel.choose_travel`); part of
    the digest, so a new road network version is a new cache entry."""
    depot_id, lng, lat = depot
    return {
        "version": CANONICAL_VERSION,
        "travel": travel or {"source": "great_circle"},
        "mode": mode,
        "optimize_for": optimize_for,
        "planned_start": planned_start.isoformat(),
        "depot": {"id": depot_id, "lng": lng, "lat": lat},
        "vehicles": [
            {
                "id": v.id,
                "type": v.vehicle_type,
                "capacity_kg": v.capacity_kg,
                "capacity_m3": v.capacity_m3,
                "max_range_km": v.max_range_km,
                "shift": list(v.shift),
            }
            for v in vehicles
        ],
        "stops": [
            {
                "location_id": s.location_id,
                "lng": s.lng,
                "lat": s.lat,
                "load_kg": s.load_kg,
                "service_s": s.service_s,
                "window": list(s.window) if s.window else None,
            }
            for s in stops
        ],
    }


def input_hash(problem: dict[str, Any]) -> str:
    """Digest of what the solver sees. The planned start is left out: every time in the
    problem is relative to it, so the same stops on another day share a cache entry."""
    solver_input = {key: value for key, value in problem.items() if key != "planned_start"}
    return hashlib.sha256(orjson.dumps(solver_input, option=orjson.OPT_SORT_KEYS)).hexdigest()


def to_solver_problem(problem: dict[str, Any], provider: MatrixProvider | None = None) -> Problem:
    """The solver's problem, priced by `provider` (great-circle travel by default)."""
    return priced_problem(problem, provider)[0]


def priced_problem(
    problem: dict[str, Any], provider: MatrixProvider | None = None
) -> tuple[Problem, list[int]]:
    """The solver's problem without the stops that no road joins to the depot (or to the
    vehicle's start), and those stops' indexes: they are reported `unreachable`, never
    priced with an invented number."""
    full = _solver_problem(problem, provider or HaversineProvider())
    ends = {full.start_location(0), full.end_location(0)}
    matrices = [full.matrix.distance, *full.matrix.durations.values()]
    unreachable = [
        i
        for i in range(full.num_stops)
        if any(
            m[end, full.stop_location(i)] >= UNREACHABLE
            or m[full.stop_location(i), end] >= UNREACHABLE
            for m in matrices
            for end in ends
        )
    ]
    if not unreachable:
        return full, []
    kept = [i for i in range(full.num_stops) if i not in set(unreachable)]
    return full.restrict(kept, list(range(len(full.vehicles)))), unreachable


def _solver_problem(problem: dict[str, Any], provider: MatrixProvider) -> Problem:
    depot = problem["depot"]
    depots = [Depot(id="depot", point=Point(lat=depot["lat"], lon=depot["lng"]))]
    # A route re-planned on the road starts where the vehicle is and still ends at the depot.
    start = problem.get("start")
    if start is not None:
        depots.append(Depot(id="start", point=Point(lat=start["lat"], lon=start["lng"])))
    stops = [
        Stop(
            id=str(index),
            point=Point(lat=s["lat"], lon=s["lng"]),
            demand_kg=s["load_kg"],
            service_time=s["service_s"],
            time_window=TimeWindow(*s["window"]) if s["window"] else TimeWindow(),
        )
        for index, s in enumerate(problem["stops"])
    ]
    vehicles = [
        Vehicle(
            id=v["id"],
            start_depot="start" if start is not None else "depot",
            end_depot="depot",
            capacity_kg=v["capacity_kg"],
            capacity_m3=v["capacity_m3"],
            max_range_km=v["max_range_km"],
            shift=TimeWindow(*v["shift"]),
            vehicle_type=v["type"],
        )
        for v in problem["vehicles"]
    ]
    return Problem.build(depots, stops, vehicles, provider)


def submitted_order(problem: Problem) -> tuple[int, int]:
    """Metres driven and seconds taken visiting the stops in the order submitted, from the
    start back to the depot, timed by the solvers' own schedule on the matrix they priced
    (the first vehicle's speed, service times, waits for windows): what the plan is
    compared with."""
    route = build_route(problem, 0, range(problem.num_stops))
    return int(route.distance_m), int(route.duration_s)


def canonical_result(
    problem: Problem, solution: Solution, unreachable: Sequence[int] = ()
) -> dict[str, Any]:
    """The result a worker hands back; `unreachable` stops (left out of `problem`) are
    reported unassigned with that reason."""
    submitted_distance, submitted_duration = submitted_order(problem)
    return {
        "routes": [
            {
                "vehicle_id": route.vehicle_id,
                "departure": route.departure,
                "arrival": route.arrival,
                "distance_m": route.distance_m,
                "load_kg": route.load_kg,
                "visits": [
                    {"stop": int(v.stop_id), "arrival": v.arrival, "departure": v.departure}
                    for v in route.visits
                ],
            }
            for route in solution.routes
            if route.visits
        ],
        "unassigned": [{"stop": int(u.stop_id), "reason": u.reason} for u in solution.unassigned]
        + [{"stop": i, "reason": "unreachable"} for i in unreachable],
        "cost": solution.cost,
        "distance_m": solution.distance_m,
        "duration_s": solution.duration_s,
        "solver": solution.solver,
        "backend": solution.backend,
        "elapsed_s": round(solution.elapsed_s, 4),
        "lower_bound": solution.lower_bound,
        "gap": solution.gap,
        "proven_optimal": solution.proven_optimal,
        "fallback_reason": solution.fallback_reason,
        "submitted_distance_m": submitted_distance,
        "submitted_duration_s": submitted_duration,
    }


def optimization_score(result: dict[str, Any]) -> float:
    """Distance saved against the submitted order, in percent (0-100): 0 means the plan is
    no shorter than visiting the stops as given, 25 means a quarter of the distance saved."""
    submitted = result["submitted_distance_m"]
    if submitted <= 0:
        return 0.0
    saved = (submitted - result["distance_m"]) / submitted * 100
    return round(min(100.0, max(0.0, saved)), 2)


def at(origin: datetime, seconds: int) -> datetime:
    return origin + timedelta(seconds=seconds)


def window_seconds(
    origin: datetime, start: datetime | None, end: datetime | None
) -> tuple[int, int] | None:
    """A stop's time window in seconds from origin, clipped at the origin."""
    if start is None and end is None:
        return None
    begin = seconds_from(origin, start) if start else 0
    finish = seconds_from(origin, end) if end else MAX_TIME
    return max(0, begin), max(0, finish)


def vehicle_spec(
    origin: datetime,
    constraints: dict[str, Any],
    *,
    vehicle_id: str,
    vehicle_type: str,
    capacity_kg: float | None,
    capacity_m3: float | None,
    max_range_km: float | None,
) -> VehicleSpec:
    """A vehicle under a route's constraints: the shorter of its range and the route's
    distance limit, and the constraints' shift."""
    limits = [r for r in (constraints.get("max_distance_km"), max_range_km) if r]
    return VehicleSpec(
        id=vehicle_id,
        vehicle_type=vehicle_type,
        capacity_kg=capacity_kg or None,
        capacity_m3=capacity_m3,
        max_range_km=min(limits) if limits else None,
        shift=shift_window(
            origin, constraints.get("time_window_start"), constraints.get("time_window_end")
        ),
    )
