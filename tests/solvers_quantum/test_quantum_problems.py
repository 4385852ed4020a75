import itertools

import numpy as np
import pytest

from solvers.quantum import (
    PARTITION_QUBIT_CAP,
    TSP_QUBIT_CAP,
    QubitCapExceeded,
    maxcut_qubo,
    partition_qubo,
    patrol_loop_qubo,
    tsp_qubo,
)
from solvers.quantum.qubo import FloatArray, index_to_bits


def closed_tour_length(d: FloatArray, tour: tuple[int, ...]) -> float:
    return float(sum(d[a, b] for a, b in zip(tour, (*tour[1:], tour[0]), strict=True)))


def shortest_tour(d: FloatArray, start: int = 0) -> float:
    others = [i for i in range(d.shape[0]) if i != start]
    return min(closed_tour_length(d, (start, *p)) for p in itertools.permutations(others))


@pytest.mark.parametrize("n", [3, 4, 5])
def test_tsp_minimum_energy_is_the_shortest_tour(city: FloatArray, n: int) -> None:
    d = city[:n, :n]
    encoding = tsp_qubo(d)
    energies = encoding.qubo.energies()
    best = encoding.decode(int(energies.argmin()))
    assert best.feasible
    assert best.cost == pytest.approx(shortest_tour(d))
    assert energies.min() == pytest.approx(shortest_tour(d))
    assert encoding.exact().cost == pytest.approx(shortest_tour(d))


def test_tsp_handles_one_way_distances() -> None:
    d = np.array([[0, 1, 9, 9], [9, 0, 1, 9], [9, 9, 0, 1], [1, 9, 9, 0]], dtype=float)
    encoding = tsp_qubo(d)
    best = encoding.decode(int(encoding.qubo.energies().argmin()))
    assert best.solution == (0, 1, 2, 3)
    assert best.cost == 4.0


@pytest.mark.parametrize("n", [4, 5])
def test_tsp_every_infeasible_assignment_costs_more_than_every_tour(
    city: FloatArray, n: int
) -> None:
    encoding = tsp_qubo(city[:n, :n])
    energies = encoding.qubo.energies()
    feasible = encoding.feasible(np.arange(energies.size))
    assert feasible.sum() == np.prod(range(1, n))
    assert energies[feasible].max() < energies[~feasible].min()


def test_tsp_decoding_always_yields_a_tour_and_keeps_valid_ones(city: FloatArray) -> None:
    encoding = tsp_qubo(city[:4, :4])
    for index in range(1 << 9):
        decoded = encoding.decode(index)
        assert decoded.solution[0] == 0
        assert sorted(decoded.solution) == [0, 1, 2, 3]
        assert decoded.cost == pytest.approx(closed_tour_length(city[:4, :4], decoded.solution))
        if decoded.feasible:
            assert encoding.encode(decoded.solution) == index


def test_patrol_loop_starts_where_asked(city: FloatArray) -> None:
    d = city[:5, :5]
    encoding = patrol_loop_qubo(d, start=3)
    best = encoding.decode(int(encoding.qubo.energies().argmin()))
    assert best.solution[0] == 3
    assert sorted(best.solution) == [0, 1, 2, 3, 4]
    assert best.cost == pytest.approx(closed_tour_length(d, best.solution))
    assert best.cost == pytest.approx(shortest_tour(d, start=3))


def partition_optimum(
    d: FloatArray, demands: list[float], caps: tuple[float, float], weight: float, target: float
) -> float:
    best = np.inf
    for x in itertools.product([0, 1], repeat=len(demands)):
        load_1 = sum(q for q, xi in zip(demands, x, strict=True) if xi)
        if load_1 > caps[1] or sum(demands) - load_1 > caps[0]:
            continue
        cluster = sum(
            (d[i, j] + d[j, i]) / 2
            for i, j in itertools.combinations(range(len(x)), 2)
            if x[i] == x[j]
        )
        best = min(best, cluster + weight * (load_1 - target) ** 2)
    return float(best)


@pytest.mark.parametrize(
    ("demands", "caps"),
    [
        ([3, 1, 2, 2, 1, 3], (6.0, 7.0)),
        ([1, 1, 1, 1, 1, 1], (6.0, 6.0)),
        ([5, 1, 1, 1, 2, 2], (9, 4)),
    ],
)
def test_partition_minimum_energy_is_the_best_feasible_split(
    city: FloatArray, demands: list[float], caps: tuple[float, float]
) -> None:
    encoding = partition_qubo(city, demands, caps)
    energies = encoding.qubo.energies()
    best = encoding.decode(int(energies.argmin()))
    assert best.feasible
    assert encoding.is_within_capacity(best.solution)
    expected = partition_optimum(city, demands, caps, encoding.balance_weight, encoding.target_load)
    assert best.cost == pytest.approx(expected)
    assert encoding.exact().cost == pytest.approx(expected)


def test_partition_without_binding_capacity_is_a_max_cut(city: FloatArray) -> None:
    encoding = partition_qubo(city, [1] * 6, (6, 6))
    assert encoding.balance_weight == 0.0
    cut = maxcut_qubo(city)
    best = encoding.decode(int(encoding.qubo.energies().argmin()))
    assert cut.cut(best.solution) == pytest.approx(cut.exact().cost)


def test_partition_over_capacity_always_costs_more_than_any_fitting_split(
    city: FloatArray,
) -> None:
    encoding = partition_qubo(city, [4, 1, 3, 2, 5, 1], (8, 9))
    energies = encoding.qubo.energies()
    feasible = encoding.feasible(np.arange(energies.size))
    assert 0 < feasible.sum() < energies.size
    assert energies[feasible].max() < energies[~feasible].min()


@pytest.mark.parametrize(
    ("demands", "caps"),
    # The second needs the fallback: moving the smallest stop back and forth never fits.
    [([4, 1, 3, 2, 5, 1], (8, 9)), ([3, 3, 3, 3, 4, 4], (10, 10))],
)
def test_partition_repair_always_fits_and_keeps_fitting_splits(
    city: FloatArray, demands: list[float], caps: tuple[float, float]
) -> None:
    encoding = partition_qubo(city, demands, caps)
    for index in range(1 << 6):
        decoded = encoding.decode(index)
        load_0, load_1 = encoding.loads(decoded.solution)
        assert load_0 <= caps[0]
        assert load_1 <= caps[1]
        if decoded.feasible:
            assert decoded.solution == index_to_bits(index, 6)


def test_partition_that_cannot_fit_is_refused(city: FloatArray) -> None:
    with pytest.raises(ValueError, match="no split"):
        partition_qubo(city[:3, :3], [3, 3, 4], (5, 5))


def test_maxcut_minimum_energy_is_the_maximum_cut(city: FloatArray) -> None:
    w = city[:5, :5]
    encoding = maxcut_qubo(w)
    energies = encoding.qubo.energies()
    best = encoding.decode(int(energies.argmin()))
    brute = max(
        sum(w[i, j] for i, j in itertools.combinations(range(5), 2) if x[i] != x[j])
        for x in itertools.product([0, 1], repeat=5)
    )
    assert best.cost == pytest.approx(brute)
    assert -energies.min() == pytest.approx(brute)
    assert encoding.exact().cost == pytest.approx(brute)


def test_caps_refuse_bigger_problems(city: FloatArray) -> None:
    with pytest.raises(QubitCapExceeded) as tsp_error:
        tsp_qubo(city)  # 6 nodes: 25 qubits
    assert (tsp_error.value.requested, tsp_error.value.cap) == (25, TSP_QUBIT_CAP)
    big = np.ones((PARTITION_QUBIT_CAP + 1, PARTITION_QUBIT_CAP + 1))
    with pytest.raises(QubitCapExceeded, match="21 qubits; the cap is 20"):
        partition_qubo(big, [1] * 21, (20, 20))
    with pytest.raises(QubitCapExceeded):
        maxcut_qubo(big)
    with pytest.raises(QubitCapExceeded):
        tsp_qubo(city[:4, :4], cap=8)
