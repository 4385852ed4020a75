"""Turn stop sequences into timed routes, and explain why a stop stays unassigned.

Backends only decide which vehicle visits which stops in which order; the times, loads
and distances of every returned route come from here, so all backends report alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

from solvers.problem import Problem
from solvers.solution import (
    OptimizationMode,
    Route,
    Solution,
    Unassigned,
    UnassignedReason,
    Visit,
)


def build_route(problem: Problem, vehicle: int, stops: Sequence[int]) -> Route:
    """Timed route for ``vehicle`` visiting ``stops`` in order.

    Service starts as early as the time window allows (waiting when early). The depot
    departure is then pushed as late as possible without making any visit later than its
    window or the shift allows, which removes avoidable waiting from the duration.
    """
    veh = problem.vehicles[vehicle]
    dist = problem.matrix.distance
    dur = problem.matrix.duration(veh.vehicle_type)
    start_loc, end_loc = problem.start_location(vehicle), problem.end_location(vehicle)
    locs = [problem.stop_location(s) for s in stops]

    departure = problem.earliest_departure(vehicle)
    t, prev = departure, start_loc
    waited = 0
    slack = None  # how far the departure can move before some window or the shift breaks
    for stop, loc in zip(stops, locs, strict=True):
        tw = problem.stops[stop].time_window
        arrival = t + int(dur[prev, loc])
        start = max(arrival, tw.start)
        waited += start - arrival
        room = waited + tw.end - start
        slack = room if slack is None else min(slack, room)
        t, prev = start + problem.stops[stop].service_time, loc
    back = t + int(dur[prev, end_loc])
    room = waited + problem.latest_return(vehicle) - back
    slack = room if slack is None else min(slack, room)
    shift = max(0, min(waited, slack))

    visits = []
    t, prev = departure + shift, start_loc
    for stop, loc in zip(stops, locs, strict=True):
        arrival = t + int(dur[prev, loc])
        start = max(arrival, problem.stops[stop].time_window.start)
        t, prev = start + problem.stops[stop].service_time, loc
        visits.append(
            Visit(
                stop=stop, stop_id=problem.stops[stop].id, arrival=arrival, start=start, departure=t
            )
        )
    path = [start_loc, *locs, end_loc]
    distance = sum(int(dist[a, b]) for a, b in itertools.pairwise(path))
    return Route(
        vehicle=vehicle,
        vehicle_id=veh.id,
        visits=tuple(visits),
        departure=departure + shift,
        arrival=t + int(dur[prev, end_loc]),
        distance_m=distance,
        load_kg=sum(problem.stops[s].demand_kg for s in stops),
        load_m3=sum(problem.stops[s].demand_m3 for s in stops),
    )


def route_cost(problem: Problem, route: Route) -> float:
    """Distance in km times the vehicle's cost per km."""
    return route.distance_m / 1000 * problem.vehicles[route.vehicle].cost_per_km


def route_violation(
    problem: Problem, vehicle: int, stops: Sequence[int]
) -> UnassignedReason | None:
    """First constraint a route breaks, checked in the order type, capacity, range, time."""
    if not all(problem.can_serve(vehicle, s) for s in stops):
        return "vehicle_type"
    load = problem.demands[list(stops)].sum(axis=0) if stops else 0
    if (load > problem.capacities[vehicle]).any():
        return "capacity"
    route = build_route(problem, vehicle, stops)
    limit = problem.max_distance(vehicle)
    if limit is not None and route.distance_m > limit:
        return "range"
    if route.arrival > problem.latest_return(vehicle):
        return "time_window"
    if any(v.start > problem.stops[v.stop].time_window.end for v in route.visits):
        return "time_window"
    return None


def lone_stop_reason(problem: Problem, stop: int) -> UnassignedReason | None:
    """Why no vehicle could serve ``stop`` even on a route of its own (``None``: some can)."""
    reasons = [route_violation(problem, kind[0], [stop]) for kind in problem.vehicle_kinds]
    if any(r is None for r in reasons):
        return None
    # Report the constraint that fails on the vehicles that got furthest.
    for reason in ("time_window", "range", "capacity"):
        if reason in reasons:
            return reason
    return "vehicle_type"


def explain_unassigned(
    problem: Problem, stop: int, routes: Mapping[int, Sequence[int]]
) -> UnassignedReason:
    """Why ``stop`` does not fit the given routes (vehicle index to stop sequence)."""
    alone = lone_stop_reason(problem, stop)
    if alone is not None:
        return alone
    seen: set[UnassignedReason] = set()
    # Idle vehicles of one kind are interchangeable: try one of each kind.
    busy = {v for v, seq in routes.items() if seq}
    idle = {next((v for v in kind if v not in busy), -1) for kind in problem.vehicle_kinds}
    candidates = sorted(busy | (idle - {-1}))
    for vehicle in candidates:
        if not problem.can_serve(vehicle, stop):
            continue
        current = list(routes.get(vehicle, ()))
        for pos in range(len(current) + 1):
            reason = route_violation(problem, vehicle, [*current[:pos], stop, *current[pos:]])
            if reason is None:
                # It would fit: the engine ran out of time before placing it. The closest
                # of the four reasons is that the fleet had no room for it in this plan.
                return "capacity"
            seen.add(reason)
    for reason in ("capacity", "range", "time_window"):
        if reason in seen:
            return reason
    return "vehicle_type"


def assemble(
    problem: Problem,
    routes: Mapping[int, Sequence[int]],
    *,
    solver: str,
    elapsed_s: float,
    unassigned: Mapping[int, UnassignedReason] | None = None,
    lower_bound: float | None = None,
    proven_optimal: bool = False,
    requested_mode: OptimizationMode = "classical",
    fallback_reason: str | None = None,
) -> Solution:
    """Build a ``Solution`` from stop sequences per vehicle.

    Stops that appear on no route are reported unassigned, with the reason given in
    ``unassigned`` or else one worked out from the routes.
    """
    built = tuple(build_route(problem, v, seq) for v, seq in sorted(routes.items()) if len(seq) > 0)
    served = {s for r in built for s in r.stops}
    given = dict(unassigned or {})
    missing = []
    for stop in range(problem.num_stops):
        if stop in served:
            continue
        reason = given.get(stop) or explain_unassigned(problem, stop, routes)
        missing.append(Unassigned(stop=stop, stop_id=problem.stops[stop].id, reason=reason))
    cost = sum(route_cost(problem, r) for r in built)
    return Solution(
        routes=built,
        unassigned=tuple(missing),
        cost=cost,
        solver=solver,
        elapsed_s=elapsed_s,
        lower_bound=lower_bound,
        proven_optimal=proven_optimal,
        requested_mode=requested_mode,
        fallback_reason=fallback_reason,
    )
