from __future__ import annotations

from solvers.problem import Depot, Point, Problem, Stop, TimeWindow, Vehicle
from solvers.schedule import build_route


def _line_problem(window: TimeWindow, service: int = 600) -> Problem:
    return Problem.build(
        [Depot("d", Point(52.50, 13.40))],
        [
            Stop("a", Point(52.51, 13.40), service_time=service),
            Stop("b", Point(52.52, 13.40), service_time=service, time_window=window),
        ],
        [Vehicle("v", "d", shift=TimeWindow(0, 86_400))],
    )


def test_arrival_departure_honour_travel_and_service_times() -> None:
    problem = _line_problem(TimeWindow())
    route = build_route(problem, 0, [0, 1])
    dur = problem.matrix.duration("van")
    a, b = route.visits
    assert a.arrival == route.departure + dur[0, 1]
    assert a.departure == a.start + 600
    assert b.arrival == a.departure + dur[1, 2]
    assert route.arrival == b.departure + dur[2, 0]


def test_vehicle_waits_when_early_but_leaves_late_enough_to_avoid_idle_time() -> None:
    problem = _line_problem(TimeWindow(7200, 9000))
    route = build_route(problem, 0, [0, 1])
    a, b = route.visits
    assert b.start == 7200  # service starts at the opening, not before
    assert b.wait == 0  # the departure was pushed back instead of waiting at b
    assert route.departure > 0
    assert a.start == a.arrival


def test_departure_is_not_pushed_past_another_window() -> None:
    problem = Problem.build(
        [Depot("d", Point(52.50, 13.40))],
        [
            Stop("a", Point(52.51, 13.40), time_window=TimeWindow(0, 300)),
            Stop("b", Point(52.52, 13.40), time_window=TimeWindow(7200, 9000)),
        ],
        [Vehicle("v", "d")],
    )
    route = build_route(problem, 0, [0, 1])
    a, b = route.visits
    assert a.start <= 300
    assert b.start == 7200
    assert b.wait > 0
