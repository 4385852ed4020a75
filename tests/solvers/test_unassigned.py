"""Stops that cannot be served come back unassigned, with the constraint that kept them out."""

from __future__ import annotations

import pytest

from solvers.problem import Depot, Point, Problem, Stop, TimeWindow, Vehicle
from solvers.selector import SelectorParams, solve_problem

DEPOT = Depot("d", Point(52.52, 13.40))
NEAR = Point(52.53, 13.41)
ENGINES = ["auto", "pyvrp", "ortools"]


def _solve(problem: Problem, engine: str) -> dict[str, str]:
    params = SelectorParams(engine=engine)  # type: ignore[arg-type]
    solution = solve_problem(problem, time_limit=1.0, seed=0, params=params)
    return {u.stop_id: u.reason for u in solution.unassigned}


@pytest.mark.parametrize("engine", ENGINES)
def test_stop_heavier_than_any_vehicle(engine: str) -> None:
    stops = [Stop("ok", NEAR, demand_kg=10), Stop("piano", NEAR, demand_kg=500)]
    problem = Problem.build([DEPOT], stops, [Vehicle("v", "d", capacity_kg=100)])
    assert _solve(problem, engine) == {"piano": "capacity"}


@pytest.mark.parametrize("engine", ENGINES)
def test_stops_that_do_not_fit_together(engine: str) -> None:
    stops = [Stop(f"s{i}", Point(52.53 + 0.01 * i, 13.41), demand_kg=60) for i in range(3)]
    problem = Problem.build([DEPOT], stops, [Vehicle("v", "d", capacity_kg=100)])
    reasons = _solve(problem, engine)
    assert len(reasons) == 2
    assert set(reasons.values()) == {"capacity"}


@pytest.mark.parametrize("engine", ENGINES)
def test_window_closes_before_anyone_can_arrive(engine: str) -> None:
    stops = [
        Stop("ok", NEAR),
        Stop("too-soon", Point(52.60, 13.50), time_window=TimeWindow(0, 60)),
    ]
    problem = Problem.build([DEPOT], stops, [Vehicle("v", "d")])
    assert _solve(problem, engine) == {"too-soon": "time_window"}


@pytest.mark.parametrize("engine", ENGINES)
def test_windows_that_clash_on_a_single_vehicle(engine: str) -> None:
    # Both need service at 09:00 for an hour, far apart: one vehicle can do only one.
    stops = [
        Stop("a", Point(52.60, 13.40), service_time=3600, time_window=TimeWindow(32_400, 32_400)),
        Stop("b", Point(52.44, 13.40), service_time=3600, time_window=TimeWindow(32_400, 32_400)),
    ]
    problem = Problem.build([DEPOT], stops, [Vehicle("v", "d")])
    reasons = _solve(problem, engine)
    assert list(reasons.values()) == ["time_window"]


@pytest.mark.parametrize("engine", ENGINES)
def test_stop_out_of_range(engine: str) -> None:
    stops = [Stop("ok", NEAR), Stop("far", Point(53.00, 13.40))]  # ~53 km away
    problem = Problem.build([DEPOT], stops, [Vehicle("ev", "d", max_range_km=40)])
    assert _solve(problem, engine) == {"far": "range"}


@pytest.mark.parametrize("engine", ENGINES)
def test_no_vehicle_of_the_required_type(engine: str) -> None:
    stops = [Stop("ok", NEAR), Stop("fridge", NEAR, vehicle_type="reefer")]
    problem = Problem.build([DEPOT], stops, [Vehicle("v", "d")])
    assert _solve(problem, engine) == {"fridge": "vehicle_type"}


@pytest.mark.parametrize("engine", ENGINES)
def test_required_type_is_served_by_that_type_only(engine: str) -> None:
    stops = [Stop(f"s{i}", Point(52.50 + 0.01 * i, 13.40)) for i in range(4)]
    stops.append(Stop("fridge", Point(52.55, 13.45), vehicle_type="reefer"))
    fleet = [Vehicle("van", "d"), Vehicle("cold", "d", vehicle_type="reefer")]
    problem = Problem.build([DEPOT], stops, fleet)
    params = SelectorParams(engine=engine)  # type: ignore[arg-type]
    solution = solve_problem(problem, time_limit=1.0, seed=0, params=params)
    assert not solution.unassigned
    cold = solution.route_of("cold")
    assert cold is not None
    assert "fridge" in [v.stop_id for v in cold.visits]
