from __future__ import annotations

from collections.abc import Callable

import pytest

from solvers.matrix import HaversineProvider
from solvers.problem import Point, Problem
from solvers.reoptimize import VehicleProgress, reoptimize
from solvers.selector import solve_problem
from solvers.validator import validate

MakeProblem = Callable[..., Problem]
NOW = 2 * 3600


def test_completed_stops_stay_out_and_the_rest_is_replanned(problem_factory: MakeProblem) -> None:
    problem = problem_factory(9, vehicles=2, capacity_kg=150)
    plan = solve_problem(problem, time_limit=2, seed=0)
    first = plan.routes[0]
    done = tuple(v.stop_id for v in first.visits[:2])
    progress = [VehicleProgress(first.vehicle_id, done)]

    result = reoptimize(problem, progress, now=NOW, time_limit=2)

    sub, solution = result.problem, result.solution
    assert validate(sub, solution) == []
    served = {v.stop_id for r in solution.routes for v in r.visits}
    assert served.isdisjoint(done)
    assert served == {s.id for s in problem.stops} - set(done)
    assert result.fixed == {first.vehicle_id: done}
    assert all(r.departure >= NOW for r in solution.routes)

    vehicle = next(v for v in sub.vehicles if v.id == first.vehicle_id)
    delivered = sum(problem.stops[v.stop].demand_kg for v in first.visits[:2])
    assert vehicle.capacity_kg == pytest.approx(150 - delivered)
    # It resumes from the last completed stop.
    start = sub.depots[sub.start_location(sub.vehicles.index(vehicle))]
    assert start.point == problem.stops[first.visits[1].stop].point


def test_explicit_position_uses_the_provider(problem_factory: MakeProblem) -> None:
    problem = problem_factory(5, vehicles=1)
    here = Point(52.50, 13.30)
    result = reoptimize(
        problem,
        [VehicleProgress("v0", ("s0",), position=here, driven_m=4000)],
        now=NOW,
        time_limit=1,
    )
    sub = result.problem
    route = result.solution.routes[0]
    first = sub.stop_location(route.visits[0].stop)
    start = sub.start_location(0)
    expected = HaversineProvider().matrix([here, sub.stops[route.visits[0].stop].point], ["van"])
    assert sub.matrix.distance[start, first] == expected.distance[0, 1]
    assert route.visits[0].arrival == route.departure + expected.duration("van")[0, 1]


def test_range_left_is_what_was_not_driven(problem_factory: MakeProblem) -> None:
    base = problem_factory(4, vehicles=1)
    from dataclasses import replace

    problem = replace(base, vehicles=(replace(base.vehicles[0], max_range_km=50.0),))
    result = reoptimize(problem, [VehicleProgress("v0", (), driven_m=20_000)], now=NOW)
    assert result.problem.vehicles[0].max_range_km == pytest.approx(30.0)


def test_unknown_completed_stop_is_rejected(problem_factory: MakeProblem) -> None:
    problem = problem_factory(3)
    with pytest.raises(ValueError, match="unknown"):
        reoptimize(problem, [VehicleProgress("v0", ("nope",))], now=NOW)
