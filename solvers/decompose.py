"""Decomposition for large problems: cluster, solve each cluster, stitch, improve.

Stops are swept by angle around their depot into clusters of about ``cluster_size``
stops. Clusters are solved one after another with PyVRP, each with the vehicles earlier
clusters left unused, so the stitched routes never share a vehicle. A final PyVRP run
over the whole problem starts from the stitched plan and may move stops across clusters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from solvers.backends.base import Deadline
from solvers.backends.pyvrp_backend import PyVRPBackend, PyVRPParams
from solvers.problem import Problem
from solvers.solution import ProgressCallback, Solution


@dataclass(frozen=True)
class DecompositionParams:
    cluster_size: int = 50
    """Target number of stops per cluster."""
    improve_share: float = 0.4
    """Share of the time budget for the final whole-problem improvement."""


def sweep_clusters(problem: Problem, size: int) -> list[list[int]]:
    """Stops grouped by depot, then cut into angular sectors of about ``size`` stops."""
    home = [
        int(np.argmin(problem.matrix.distance[: len(problem.depots), problem.stop_location(s)]))
        for s in range(problem.num_stops)
    ]
    clusters: list[list[int]] = []
    for d, depot in enumerate(problem.depots):
        members = [s for s in range(problem.num_stops) if home[s] == d]
        if not members:
            continue
        angle = [
            math.atan2(
                problem.stops[s].point.lat - depot.point.lat,
                problem.stops[s].point.lon - depot.point.lon,
            )
            for s in members
        ]
        ordered = [members[i] for i in np.argsort(angle, kind="stable")]
        parts = max(1, round(len(ordered) / size))
        clusters.extend(part.tolist() for part in np.array_split(np.array(ordered), parts))
    return clusters


def solve_decomposed(
    problem: Problem,
    *,
    time_limit: float,
    seed: int,
    params: DecompositionParams | None = None,
    pyvrp: PyVRPParams | None = None,
    progress: ProgressCallback | None = None,
) -> Solution:
    """Solve by clusters, then improve the stitched plan on the whole problem."""
    p = params or DecompositionParams()
    deadline = Deadline(time_limit)
    backend = PyVRPBackend(pyvrp)
    clusters = sweep_clusters(problem, p.cluster_size)
    cluster_budget = time_limit * (1 - p.improve_share)
    free = list(range(len(problem.vehicles)))
    stitched: dict[int, list[int]] = {}
    for i, cluster in enumerate(clusters):
        if not free:
            break
        share = cluster_budget * len(cluster) / problem.num_stops
        part = backend.solve(problem.restrict(cluster, free), time_limit=share, seed=seed + i)
        for route in part.routes:
            vehicle = free[route.vehicle]
            stitched[vehicle] = [cluster[s] for s in route.stops]
        free = [v for v in free if v not in stitched]
    solution = backend.solve(
        problem,
        time_limit=max(deadline.remaining, 0.1),
        seed=seed,
        progress=progress,
        initial=stitched,
    )
    return replace(solution, solver="pyvrp+decomposition", elapsed_s=deadline.elapsed)
