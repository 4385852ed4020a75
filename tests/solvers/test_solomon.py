"""Real time windows and capacities: the first 25 customers of Solomon C101."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solvers.problem import Problem
from solvers.selector import SelectorParams, solve_problem
from solvers.validator import validate

# Optimal distance of C101 with 25 customers (Solomon's benchmark; distances to 0.1).
C101_25_OPTIMUM = 191.3


@pytest.mark.parametrize("engine", ["pyvrp", "ortools"])
def test_windows_and_capacity_respected(c101_25: Problem, engine: str) -> None:
    params = SelectorParams(engine=engine)  # type: ignore[arg-type]
    solution = solve_problem(c101_25, time_limit=2.0, seed=1, params=params)
    assert validate(c101_25, solution) == []
    assert not solution.unassigned
    for route in solution.routes:
        assert route.load_kg <= 200
        for visit in route.visits:
            window = c101_25.stops[visit.stop].time_window
            assert window.start <= visit.start <= window.end
            assert visit.departure - visit.start == 900  # 90 time units of service
    # Matrix units are tenths of the instance's: distance_m / 10 is the instance cost.
    assert solution.distance_m / 10 <= C101_25_OPTIMUM * 1.02


def test_tighter_capacity_needs_more_routes(c101_25: Problem) -> None:
    small = tuple(replace(v, capacity_kg=60) for v in c101_25.vehicles)
    problem = replace(c101_25, vehicles=small)
    solution = solve_problem(problem, time_limit=1.0, seed=1)
    assert validate(problem, solution) == []
    assert not solution.unassigned
    demand = sum(s.demand_kg for s in problem.stops)
    assert len(solution.routes) >= demand / 60
    assert all(r.load_kg <= 60 for r in solution.routes)
