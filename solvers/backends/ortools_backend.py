"""OR-Tools routing backend (guided local search).

Every constraint is hard here, vehicle types included (allowed vehicles per stop), and
every stop may be dropped at a penalty larger than any detour, so a plan always comes
back. OR-Tools' routing search has no random seed: runs are deterministic for a given
``solution_limit``; with only a time limit the result depends on the machine's speed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from solvers.backends.base import (
    Deadline,
    NotApplicableError,
    distance_unit_costs,
    split_servable,
)
from solvers.problem import MAX_TIME, Problem
from solvers.schedule import assemble
from solvers.solution import ProgressCallback, Solution


@dataclass(frozen=True)
class OrToolsParams:
    """Knobs of the OR-Tools backend."""

    first_solution: str = "PATH_CHEAPEST_ARC"
    metaheuristic: str = "GUIDED_LOCAL_SEARCH"
    solution_limit: int | None = None
    """Stop after this many improving solutions (reproducible runs)."""


class OrToolsBackend:
    """Routing with OR-Tools' constraint-programming local search."""

    name = "ortools"

    def __init__(self, params: OrToolsParams | None = None) -> None:
        self.params = params or OrToolsParams()

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Solution:
        """Solve within ``time_limit`` seconds (``seed`` is accepted but OR-Tools has none)."""
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2

        del seed
        deadline = Deadline(time_limit)
        stops, hopeless = split_servable(problem)
        if not stops:
            return assemble(
                problem, {}, solver=self.name, elapsed_s=deadline.elapsed, unassigned=hopeless
            )
        nv = len(problem.vehicles)
        depots = sorted(
            {problem.start_location(v) for v in range(nv)}
            | {problem.end_location(v) for v in range(nv)}
        )
        locs = depots + [problem.stop_location(s) for s in stops]
        node_of = {loc: i for i, loc in enumerate(locs)}
        manager = pywrapcp.RoutingIndexManager(
            len(locs),
            nv,
            [node_of[problem.start_location(v)] for v in range(nv)],
            [node_of[problem.end_location(v)] for v in range(nv)],
        )
        routing = pywrapcp.RoutingModel(manager)
        sub = np.ix_(locs, locs)
        dist = problem.matrix.distance[sub]

        units, to_cost = distance_unit_costs(problem)
        cost_cb = {u: routing.RegisterTransitMatrix((dist * u).tolist()) for u in set(units)}
        for v in range(nv):
            routing.SetArcCostEvaluatorOfVehicle(cost_cb[units[v]], v)

        _time_dimension(problem, routing, manager, locs, stops, len(depots))
        _load_dimensions(problem, routing, stops, len(depots))
        reach = [problem.max_distance(v) for v in range(nv)]
        if any(r is not None for r in reach):
            dist_cb = routing.RegisterTransitMatrix(dist.tolist())
            caps = [int(dist.sum()) + 1 if r is None else r for r in reach]
            routing.AddDimensionWithVehicleCapacity(dist_cb, 0, caps, True, "distance")

        penalty = int(2 * int(dist.max(initial=0)) * max(units) + 1)
        for j, s in enumerate(stops):
            index = manager.NodeToIndex(len(depots) + j)
            allowed = [v for v in range(nv) if problem.can_serve(v, s)]
            if len(allowed) < nv:
                # -1 keeps "not visited" possible; SetAllowedVehiclesForIndex's Python
                # binding rejects every sequence type in this OR-Tools version.
                routing.VehicleVar(index).SetValues([-1, *allowed])
            routing.AddDisjunction([index], penalty)

        best = [float("inf")]

        def report() -> None:  # called on every accepted solution: pass on improvements
            cost = routing.CostVar().Max() * to_cost
            if progress is not None and cost < best[0]:
                best[0] = cost
                progress(cost, deadline.elapsed)

        routing.AddAtSolutionCallback(report)  # ``report`` must outlive the search

        params = pywrapcp.DefaultRoutingSearchParameters()
        params.first_solution_strategy = getattr(
            routing_enums_pb2.FirstSolutionStrategy, self.params.first_solution
        )
        params.local_search_metaheuristic = getattr(
            routing_enums_pb2.LocalSearchMetaheuristic, self.params.metaheuristic
        )
        params.time_limit.FromMilliseconds(max(1, int(deadline.remaining * 1000)))
        if self.params.solution_limit is not None:
            params.solution_limit = self.params.solution_limit
        found = routing.SolveWithParameters(params)
        if found is None:
            raise NotApplicableError("OR-Tools found no solution within the time limit")
        routes = _read_routes(routing, manager, found, stops, len(depots), nv)
        return assemble(
            problem, routes, solver=self.name, elapsed_s=deadline.elapsed, unassigned=hopeless
        )


def _time_dimension(
    problem: Problem,
    routing: Any,
    manager: Any,
    locs: list[int],
    stops: list[int],
    num_depots: int,
) -> None:
    """Travel plus service time, waiting allowed; windows on stops, shifts on vehicles."""
    sub = np.ix_(locs, locs)
    service = np.array([0] * num_depots + [problem.stops[s].service_time for s in stops])
    callbacks = {}
    for vtype in {v.vehicle_type for v in problem.vehicles}:
        transit = problem.matrix.duration(vtype)[sub] + service[:, None]
        callbacks[vtype] = routing.RegisterTransitMatrix(transit.tolist())
    per_vehicle = [callbacks[v.vehicle_type] for v in problem.vehicles]
    routing.AddDimensionWithVehicleTransits(per_vehicle, MAX_TIME, MAX_TIME, False, "time")
    time = routing.GetDimensionOrDie("time")
    for j, s in enumerate(stops):
        tw = problem.stops[s].time_window
        time.CumulVar(manager.NodeToIndex(num_depots + j)).SetRange(tw.start, tw.end)
    for v in range(len(problem.vehicles)):
        early, late = problem.earliest_departure(v), problem.latest_return(v)
        time.CumulVar(routing.Start(v)).SetRange(early, max(early, late))
        time.CumulVar(routing.End(v)).SetRange(early, max(early, late))


def _load_dimensions(problem: Problem, routing: Any, stops: list[int], num_depots: int) -> None:
    for d in problem.load_dimensions:
        demand = [0] * num_depots + [int(problem.demands[s, d]) for s in stops]
        cb = routing.RegisterUnaryTransitVector(demand)
        caps = [int(c) for c in problem.capacities[:, d]]
        routing.AddDimensionWithVehicleCapacity(cb, 0, caps, True, f"load{d}")


def _read_routes(
    routing: Any, manager: Any, found: Any, stops: list[int], num_depots: int, nv: int
) -> dict[int, list[int]]:
    routes: dict[int, list[int]] = {}
    for v in range(nv):
        seq = []
        index = found.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            seq.append(stops[manager.IndexToNode(index) - num_depots])
            index = found.Value(routing.NextVar(index))
        if seq:
            routes[v] = seq
    return routes
