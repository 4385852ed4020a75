from __future__ import annotations

import pytest

from solvers.matrix import HaversineProvider, durations_to, haversine_m, travel_to
from solvers.problem import Depot, Point, Problem, Stop, Vehicle

BERLIN = Point(52.5200, 13.4050)
PARIS = Point(48.8566, 2.3522)


def test_haversine_matches_known_great_circle_distance() -> None:
    metres = haversine_m([BERLIN, PARIS])
    assert metres[0, 1] == pytest.approx(877_500, rel=0.005)
    assert metres[0, 0] == 0
    assert metres[1, 0] == metres[0, 1]


def test_detour_factor_and_speed_per_vehicle_type() -> None:
    provider = HaversineProvider(detour_factor=1.3, speeds_kmh={"bike": 15.0, "van": 40.0})
    m = provider.matrix([BERLIN, PARIS], ["bike", "van"])
    road = 1.3 * haversine_m([BERLIN, PARIS])[0, 1]
    assert m.distance[0, 1] == round(road)
    assert m.duration("van")[0, 1] == round(road / (40 / 3.6))
    assert m.duration("bike")[0, 1] == round(road / (15 / 3.6))


def test_detour_factor_below_one_is_rejected() -> None:
    with pytest.raises(ValueError, match="detour"):
        HaversineProvider(detour_factor=0.9)


def test_problem_build_orders_depots_then_stops() -> None:
    problem = Problem.build(
        [Depot("d", BERLIN)],
        [Stop("far", PARIS), Stop("near", Point(52.53, 13.41))],
        [Vehicle("v", "d", vehicle_type="truck")],
    )
    assert problem.matrix.size == 3
    assert problem.stop_location(0) == 1
    assert problem.matrix.distance[0, 1] > problem.matrix.distance[0, 2]
    assert set(problem.matrix.durations) == {"truck"}


def test_problem_rejects_unknown_depot_and_duplicate_ids() -> None:
    with pytest.raises(ValueError, match="unknown depot"):
        Problem.build([Depot("d", BERLIN)], [], [Vehicle("v", "nowhere")])
    with pytest.raises(ValueError, match="duplicate stop"):
        Problem.build(
            [Depot("d", BERLIN)], [Stop("a", PARIS), Stop("a", BERLIN)], [Vehicle("v", "d")]
        )


def test_durations_to_one_target_are_a_column_of_the_matrix() -> None:
    points = [Point(lat=12.9 + i / 100, lon=77.5 + i / 70) for i in range(6)]
    target = Point(lat=13.0, lon=77.6)
    provider = HaversineProvider()
    column = provider.matrix([target, *points], ["truck"]).durations["truck"][1:, 0]
    assert list(durations_to(provider, points, target, "truck")) == list(column)
    whole = provider.matrix([target, *points], ["truck", "van"])
    to = travel_to(provider, points, target, ["truck", "van"])
    assert list(to.distance) == list(whole.distance[1:, 0])
    assert {v: list(d) for v, d in to.durations.items()} == {
        v: list(d[1:, 0]) for v, d in whole.durations.items()
    }
