"""Exact search for tiny problems, with a proof of optimality.

Two methods:

* Held-Karp dynamic programming over subsets, vectorised with numpy, for the TSP-like
  case (one vehicle, or interchangeable vehicles over a metric matrix). It solves the
  relaxation without capacity, range or time constraints; when the optimal tour of the
  relaxation happens to satisfy them, it is optimal for the real problem too.
* For everything else up to ``max_stops`` stops: the best feasible route for every subset
  of stops and every kind of vehicle (label-setting DP over subset and last stop, with
  distance/time labels), then the best partition of the stops over the fleet. The
  objective is lexicographic: serve as many stops as possible, then minimise cost.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from solvers.backends.base import Deadline, NotApplicableError, split_servable
from solvers.problem import Problem
from solvers.schedule import assemble, route_violation
from solvers.solution import ProgressCallback, Solution


@dataclass(frozen=True)
class ExactParams:
    max_stops: int = 10
    """Largest problem for the general (subset and partition) method."""
    max_tsp_stops: int = 15
    """Largest problem for the Held-Karp relaxation."""


class ExactBackend:
    """Proven-optimal solutions for tiny problems; raises ``NotApplicableError`` beyond."""

    name = "exact"

    def __init__(self, params: ExactParams | None = None) -> None:
        self.params = params or ExactParams()

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Solution:
        """Solve to optimality, or raise ``NotApplicableError`` (too large, out of time)."""
        del seed  # nothing random here
        deadline = Deadline(time_limit)
        servable, hopeless = split_servable(problem)
        routes = self._single_tour(problem, servable)
        if routes is None:
            if len(servable) > self.params.max_stops:
                raise NotApplicableError(
                    f"{len(servable)} stops exceed the exact method's {self.params.max_stops}"
                )
            routes = _partition(problem, servable, deadline)
        solution = assemble(
            problem,
            routes,
            solver=self.name,
            elapsed_s=deadline.elapsed,
            unassigned=hopeless,
            proven_optimal=True,
        )
        if progress is not None:
            progress(solution.cost, deadline.elapsed)
        return replace(solution, lower_bound=solution.cost)

    def _single_tour(self, problem: Problem, stops: list[int]) -> dict[int, list[int]] | None:
        """Optimal single tour when the Held-Karp relaxation proves it; else ``None``."""
        if not stops or len(stops) > self.params.max_tsp_stops:
            return None if stops else {}
        if not _interchangeable(problem, stops):
            return None
        start, end = problem.start_location(0), problem.end_location(0)
        locs = [problem.stop_location(s) for s in stops]
        dist = problem.matrix.distance
        _, order = held_karp(
            dist[start, locs].astype(float),
            dist[np.ix_(locs, locs)].astype(float),
            dist[locs, end].astype(float),
        )
        tour = [stops[i] for i in order]
        for vehicle in range(len(problem.vehicles)):
            if route_violation(problem, vehicle, tour) is None:
                return {vehicle: tour}
        return None


def _interchangeable(problem: Problem, stops: list[int]) -> bool:
    """One tour is a valid relaxation: one vehicle, or same depots and costs on a metric."""
    if len(problem.vehicles) == 1:
        return True
    first = problem.vehicles[0]
    same = all(
        problem.start_location(v) == problem.start_location(0)
        and problem.end_location(v) == problem.end_location(0)
        and problem.vehicles[v].cost_per_km == first.cost_per_km
        for v in range(len(problem.vehicles))
    )
    if not same:
        return False
    # With the triangle inequality, merging routes never lengthens them.
    locs = [problem.start_location(0), problem.end_location(0)]
    locs += [problem.stop_location(s) for s in stops]
    d = problem.matrix.distance[np.ix_(locs, locs)]
    return bool((d[:, None, :] <= d[:, :, None] + d[None, :, :]).all())


# A label: distance, ready time, and the (mask, last, index) of the label it extends.
_Label = tuple[int, int, int, int, int]
_DEAD = 1 << 62


@lru_cache(maxsize=16)
def _transitions(
    n: int,
) -> tuple[tuple[tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]], ...], ...]:
    """Per subset size >= 2 and per node j: the subsets holding j, and them without j."""
    out = []
    for masks in _layers(n)[2:]:
        per_node = []
        for j in range(n):
            with_j = masks[(masks >> j) & 1 == 1]
            per_node.append((with_j, with_j ^ (1 << j)))
        out.append(tuple(per_node))
    return tuple(out)


@lru_cache(maxsize=16)
def _layers(n: int) -> tuple[npt.NDArray[np.int64], ...]:
    """Subsets of ``n`` items as bitmasks, grouped by size (index = size)."""
    masks = np.arange(1 << n, dtype=np.int64)
    sizes = np.zeros(1 << n, dtype=np.int64)
    for bit in range(n):
        sizes += (masks >> bit) & 1
    return tuple(masks[sizes == k] for k in range(n + 1))


def held_karp(
    start: npt.NDArray[np.float64],
    inner: npt.NDArray[np.float64],
    end: npt.NDArray[np.float64],
) -> tuple[float, list[int]]:
    """Shortest path from a start through all ``n`` nodes to an end, by subset DP.

    ``start[j]`` is the cost from the start to node j, ``inner[i, j]`` between nodes and
    ``end[i]`` from node i to the end. Returns the cost and the node order.
    Work is O(2^n n^2), vectorised per subset size and last node.
    """
    n = len(start)
    if n == 0:
        return 0.0, []
    full = (1 << n) - 1
    dp = np.full((1 << n, n), np.inf)
    parent = np.full((1 << n, n), -1, dtype=np.int8)
    nodes = np.arange(n)
    dp[np.int64(1) << nodes, nodes] = start
    into = np.ascontiguousarray(inner.T)  # into[j, i]: cost of the arc i -> j
    for per_node in _transitions(n):
        for j, (masks, prev) in enumerate(per_node):
            cand = dp[prev] + into[j]  # (subsets, i): reach j last, coming from i
            best = cand.argmin(axis=1)
            dp[masks, j] = cand[np.arange(len(masks)), best]
            parent[masks, j] = best
    total = dp[full] + end
    last = int(total.argmin())
    cost = float(total[last])
    order, mask = [], full
    while last >= 0:
        order.append(last)
        nxt = int(parent[mask, last])
        mask ^= 1 << last
        last = nxt if mask else -1
    return cost, order[::-1]


def _best_routes(
    problem: Problem, vehicle: int, stops: list[int], deadline: Deadline
) -> tuple[list[float], list[tuple[int, ...]]]:
    """Cheapest feasible route for every subset of ``stops`` (inf when none) for a vehicle.

    Labels (distance, ready time) at (subset, last stop); a label is dropped when another
    has no more distance and no later ready time. Leaving the depot as early as possible
    is never worse: waiting is allowed and cost depends only on distance.
    """
    n = len(stops)
    veh = problem.vehicles[vehicle]
    dist = problem.matrix.distance
    dur = problem.matrix.duration(veh.vehicle_type)
    start, end = problem.start_location(vehicle), problem.end_location(vehicle)
    locs = [problem.stop_location(s) for s in stops]
    tw = [problem.stops[s].time_window for s in stops]
    service = [problem.stops[s].service_time for s in stops]
    allowed = [problem.can_serve(vehicle, s) for s in stops]
    reach = problem.max_distance(vehicle)
    reach_m = math.inf if reach is None else reach
    latest = problem.latest_return(vehicle)
    dep = problem.earliest_departure(vehicle)

    loads = np.zeros((1 << n, problem.demands.shape[1]), dtype=np.int64)
    masks = np.arange(1 << n)
    for i, s in enumerate(stops):
        loads[(masks >> i) & 1 == 1] += problem.demands[s]
    fits = (loads <= problem.capacities[vehicle]).all(axis=1)

    labels: dict[tuple[int, int], list[_Label]] = {}
    for j in range(n):
        if not allowed[j] or not fits[1 << j]:
            continue
        arrive = max(dep + int(dur[start, locs[j]]), tw[j].start)
        d = int(dist[start, locs[j]])
        if arrive <= tw[j].end and d <= reach_m:
            labels[(1 << j, j)] = [(d, arrive + service[j], 0, -1, -1)]

    best = [math.inf] * (1 << n)
    best_path: list[tuple[int, ...]] = [()] * (1 << n)
    best[0] = 0.0
    for layer in _layers(n)[1:]:
        if deadline.expired():
            raise NotApplicableError("exact search ran out of time")
        for mask in layer.tolist():
            for j in range(n):
                here = labels.get((mask, j))
                if not here:
                    continue
                for idx, (d, ready, *_rest) in enumerate(here):
                    if d == _DEAD:
                        continue
                    total = d + int(dist[locs[j], end])
                    back = ready + int(dur[locs[j], end])
                    if back <= latest and total <= reach_m and total < best[mask]:
                        best[mask] = total
                        best_path[mask] = _trace(labels, mask, j, idx)
                    for k in range(n):
                        if mask >> k & 1 or not allowed[k] or not fits[mask | 1 << k]:
                            continue
                        nd = d + int(dist[locs[j], locs[k]])
                        arrive = max(ready + int(dur[locs[j], locs[k]]), tw[k].start)
                        if arrive > tw[k].end or nd > reach_m:
                            continue
                        _insert(labels, (mask | 1 << k, k), (nd, arrive + service[k], mask, j, idx))
    return best, best_path


def _insert(
    labels: dict[tuple[int, int], list[_Label]], key: tuple[int, int], label: _Label
) -> None:
    """Add a label unless dominated; labels it dominates are marked dead in place.

    A bucket is filled completely before any of its labels is extended, so a label that
    dies here is nobody's parent yet and indices stay valid.
    """
    bucket = labels.setdefault(key, [])
    for i, other in enumerate(bucket):
        if other[0] <= label[0] and other[1] <= label[1]:
            return
        if label[0] <= other[0] and label[1] <= other[1]:
            bucket[i] = (_DEAD, _DEAD, other[2], other[3], other[4])
    bucket.append(label)


def _trace(
    labels: dict[tuple[int, int], list[_Label]],
    mask: int,
    last: int,
    idx: int,
) -> tuple[int, ...]:
    order = []
    while last >= 0:
        order.append(last)
        _, _, pmask, plast, pidx = labels[(mask, last)][idx]
        mask, last, idx = pmask, plast, pidx
    return tuple(order[::-1])


def _partition(problem: Problem, stops: list[int], deadline: Deadline) -> dict[int, list[int]]:
    """Serve as many stops as possible at least cost, over all vehicles."""
    n = len(stops)
    if n == 0:
        return {}
    full = (1 << n) - 1
    # served mask -> (cost, previous mask, route mask, step that added the route)
    states: dict[int, tuple[float, int, int, int]] = {0: (0.0, -1, 0, -1)}
    history: list[dict[int, tuple[float, int, int, int]]] = []
    steps: list[tuple[int, list[tuple[int, ...]]]] = []  # (vehicle, best path per subset)
    for members in problem.vehicle_kinds:
        rep = members[0]
        cost_km = problem.vehicles[rep].cost_per_km / 1000
        best, best_path = _best_routes(problem, rep, stops, deadline)
        for v in members[:n]:  # more than n vehicles of a kind cannot all be used
            step = len(steps)
            steps.append((v, best_path))
            nxt = dict(states)
            for mask, (cost, *_rest) in states.items():
                rest = full ^ mask
                sub = rest
                while sub:
                    if best[sub] < math.inf:
                        c = cost + best[sub] * cost_km
                        key = mask | sub
                        if key not in nxt or c < nxt[key][0] - 1e-9:
                            nxt[key] = (c, mask, sub, step)
                    sub = (sub - 1) & rest
            if deadline.expired():
                raise NotApplicableError("exact search ran out of time")
            history.append(states)
            states = nxt
    mask = max(states, key=lambda m: (m.bit_count(), -states[m][0]))
    routes: dict[int, list[int]] = {}
    _, prev, sub, step = states[mask]
    while step >= 0:
        vehicle, paths = steps[step]
        routes[vehicle] = [stops[i] for i in paths[sub]]
        _, prev, sub, step = history[step][prev]
    return routes
