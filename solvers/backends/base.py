"""What every backend implements, and helpers they share."""

from __future__ import annotations

import math
import time
from typing import Protocol

from solvers.problem import Problem
from solvers.schedule import lone_stop_reason
from solvers.solution import ProgressCallback, Solution, UnassignedReason


class NotApplicableError(Exception):
    """The backend cannot handle this problem (too large, unsupported constraint)."""


class Backend(Protocol):
    """A solver engine: pure, seeded, bounded by ``time_limit`` seconds."""

    name: str

    def solve(
        self,
        problem: Problem,
        *,
        time_limit: float,
        seed: int,
        progress: ProgressCallback | None = None,
    ) -> Solution:
        """Solve ``problem``; stops that cannot be served are reported unassigned."""
        ...


def split_servable(problem: Problem) -> tuple[list[int], dict[int, UnassignedReason]]:
    """Stops some vehicle could serve on a route of its own, and why the others cannot."""
    servable: list[int] = []
    hopeless: dict[int, UnassignedReason] = {}
    for stop in range(problem.num_stops):
        reason = lone_stop_reason(problem, stop)
        if reason is None:
            servable.append(stop)
        else:
            hopeless[stop] = reason
    return servable, hopeless


def distance_unit_costs(problem: Problem) -> tuple[list[int], float]:
    """Integer cost per metre for each vehicle, and the factor from that objective to cost.

    Engines want integer arc costs: with one cost per km for the whole fleet the unit is
    1 per metre; otherwise costs are expressed in hundredths of the cheapest vehicle's.
    """
    costs = [v.cost_per_km for v in problem.vehicles]
    cheapest = min(costs)
    if all(math.isclose(c, cheapest) for c in costs):
        return [1] * len(costs), cheapest / 1000
    units = [max(1, round(100 * c / cheapest)) for c in costs]
    return units, cheapest / 100_000


class Deadline:
    """Wall-clock budget started at construction."""

    def __init__(self, seconds: float) -> None:
        self.started = time.perf_counter()
        self.seconds = seconds

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    @property
    def remaining(self) -> float:
        return max(0.0, self.seconds - self.elapsed)

    def expired(self) -> bool:
        return self.elapsed >= self.seconds
