"""The validator catches each kind of violation: valid plans are broken one way at a time."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from solvers.backends.exact import ExactBackend
from solvers.problem import Depot, Point, Problem, Stop, TimeWindow, Vehicle
from solvers.schedule import assemble
from solvers.solution import Route, Solution, Visit
from solvers.validator import InvalidSolutionError, assert_valid, validate


def _problem(**vehicle: object) -> Problem:
    depot = Depot("d", Point(52.52, 13.40))
    ring = [(math.sin(i * math.pi / 3), math.cos(i * math.pi / 3)) for i in range(6)]
    stops = [
        Stop(f"s{i}", Point(52.52 + 0.02 * y, 13.40 + 0.03 * x), demand_kg=30, demand_m3=1.0)
        for i, (x, y) in enumerate(ring)
    ]
    fleet = [Vehicle(f"v{i}", "d", **vehicle) for i in range(3)]  # type: ignore[arg-type]
    return Problem.build([depot], stops, fleet)


def _solve(problem: Problem) -> Solution:
    solution = ExactBackend().solve(problem, time_limit=10, seed=0)
    assert validate(problem, solution) == []
    return solution


def _kinds(problem: Problem, solution: Solution) -> set[str]:
    return {v.kind for v in validate(problem, solution)}


def _retimed(problem: Problem, route: Route, departure: int) -> Route:
    """The same visits with every time recomputed from another departure."""
    dur = problem.matrix.duration(problem.vehicles[route.vehicle].vehicle_type)
    t, prev, visits = departure, 0, []
    for v in route.visits:
        loc = problem.stop_location(v.stop)
        arrival = t + int(dur[prev, loc])
        start = max(arrival, problem.stops[v.stop].time_window.start)
        t, prev = start + problem.stops[v.stop].service_time, loc
        visits.append(replace(v, arrival=arrival, start=start, departure=t))
    return replace(route, visits=tuple(visits), departure=departure, arrival=t + int(dur[prev, 0]))


def _with_routes(problem: Problem, solution: Solution, routes: dict[int, list[int]]) -> Solution:
    rebuilt = assemble(problem, routes, solver="test", elapsed_s=0.0)
    return replace(solution, routes=rebuilt.routes, cost=rebuilt.cost)


def test_valid_solution_passes_and_assert_valid_is_silent() -> None:
    problem = _problem(capacity_kg=100)
    assert_valid(problem, _solve(problem))


@pytest.mark.parametrize(
    ("limit", "label"), [({"capacity_kg": 100}, "kg"), ({"capacity_m3": 3.5}, "m3")]
)
def test_capacity_per_dimension(limit: dict[str, float], label: str) -> None:
    problem = _problem(**limit)
    solution = _solve(problem)
    merged = [s for r in solution.routes for s in r.stops]
    broken = _with_routes(problem, solution, {0: merged})
    violations = validate(problem, broken)
    assert {v.kind for v in violations} == {"capacity"}
    assert label in violations[0].detail


def test_time_window() -> None:
    base = _problem()
    stops = tuple(replace(s, time_window=TimeWindow(0, 4 * 3600)) for s in base.stops)
    problem = replace(base, stops=stops)
    solution = _solve(problem)
    late = replace(solution, routes=(_retimed(problem, solution.routes[0], 5 * 3600),))
    assert _kinds(problem, late) == {"time_window"}


def test_shift_start_and_end() -> None:
    problem = _problem(shift=TimeWindow(3600, 8 * 3600))
    solution = _solve(problem)
    route = solution.routes[0]
    assert route.departure >= 3600
    early = replace(solution, routes=(_retimed(problem, route, 0),))
    assert _kinds(problem, early) == {"shift"}
    late = replace(solution, routes=(_retimed(problem, route, 8 * 3600),))
    assert _kinds(problem, late) == {"shift"}


def test_max_range() -> None:
    loose = _problem()
    tour = _solve(loose).routes[0].distance_m
    problem = _problem(max_range_km=0.7 * tour / 1000)
    solution = _solve(problem)
    assert len(solution.routes) >= 2
    assert not solution.unassigned
    merged = [s for r in solution.routes for s in r.stops]
    assert _kinds(problem, _with_routes(problem, solution, {0: merged})) == {"range"}


def test_vehicle_type() -> None:
    depot = Depot("d", Point(52.52, 13.40))
    stops = [
        Stop("a", Point(52.53, 13.41)),
        Stop("heavy", Point(52.51, 13.42), vehicle_type="truck"),
    ]
    fleet = [Vehicle("van", "d"), Vehicle("truck", "d", vehicle_type="truck")]
    problem = Problem.build([depot], stops, fleet)
    solution = _solve(problem)
    assert solution.route_of("truck") is not None
    assert 1 in solution.route_of("truck").stops  # type: ignore[union-attr]
    broken = _with_routes(problem, solution, {0: [0, 1]})
    assert _kinds(problem, broken) == {"vehicle_type"}


def test_stop_missing_or_served_twice() -> None:
    problem = _problem(capacity_kg=100)
    solution = _solve(problem)
    routes = {r.vehicle: list(r.stops) for r in solution.routes}
    first = next(iter(routes))
    missing = dict(routes)
    missing[first] = routes[first][1:]
    gone = solution.routes[0].stops[0]
    broken = _with_routes(problem, solution, missing)
    assert _kinds(problem, broken) == {"coverage"}
    assert any(problem.stops[gone].id in v.detail for v in validate(problem, broken))

    twice = dict(routes)
    other = next(v for v in range(3) if v not in routes)
    twice[other] = [routes[first][0]]
    assert _kinds(problem, _with_routes(problem, solution, twice)) == {"coverage"}


def test_schedule_inconsistent_with_travel_or_service() -> None:
    problem = _problem()
    solution = _solve(problem)
    route = solution.routes[0]
    first: Visit = route.visits[0]
    teleport = replace(
        route, visits=(replace(first, arrival=first.arrival - 60), *route.visits[1:])
    )
    assert _kinds(problem, replace(solution, routes=(teleport,))) == {"schedule"}
    hurried = replace(first, departure=first.departure - 1)
    rushed = replace(route, visits=(hurried, *route.visits[1:]))
    assert "schedule" in _kinds(problem, replace(solution, routes=(rushed,)))


def test_reported_totals_must_match() -> None:
    problem = _problem()
    solution = _solve(problem)
    route = solution.routes[0]
    short = replace(route, distance_m=route.distance_m - 100)
    assert _kinds(problem, replace(solution, routes=(short,))) == {"totals"}
    assert _kinds(problem, replace(solution, cost=solution.cost * 0.9)) == {"totals"}


def test_assert_valid_raises_with_the_violations() -> None:
    problem = _problem()
    solution = _solve(problem)
    with pytest.raises(InvalidSolutionError) as err:
        assert_valid(problem, replace(solution, cost=0.0))
    assert err.value.violations[0].kind == "totals"
