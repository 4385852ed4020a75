from collections.abc import Callable

import numpy as np
import pytest

from solvers.quantum import Qubo, QuboProblem, maxcut_qubo, partition_qubo, tsp_qubo
from solvers.quantum.qubo import FloatArray, bitstring_to_index, index_to_bitstring


def test_energy_table_matches_energy_of_each_assignment() -> None:
    rng = np.random.default_rng(0)
    qubo = Qubo.from_dense(rng.normal(size=(6, 6)), rng.normal(size=6), offset=1.5)
    table = qubo.energies()
    assert table.shape == (64,)
    for index in range(64):
        assert table[index] == pytest.approx(qubo.energy(index))
        assert qubo.energy(index_to_bitstring(index, 6)) == pytest.approx(table[index])


def test_bitstrings_are_written_in_variable_order() -> None:
    # x[0] = 1 only: index 1, bitstring starts with the 1.
    assert index_to_bitstring(1, 4) == "1000"
    assert bitstring_to_index("0011") == 12
    qubo = Qubo(linear=np.array([1.0, 10.0]), quadratic=np.zeros((2, 2)))
    assert qubo.energy("10") == 1.0


def test_quadratic_must_be_upper_triangular() -> None:
    with pytest.raises(ValueError, match="upper triangular"):
        Qubo(linear=np.zeros(2), quadratic=np.array([[0.0, 0.0], [1.0, 0.0]]))


@pytest.mark.parametrize(
    "build",
    [
        lambda d: tsp_qubo(d[:4, :4]),
        lambda d: partition_qubo(d, [3, 1, 2, 2, 1, 3], (6, 7)),
        lambda d: maxcut_qubo(d[:5, :5]),
    ],
    ids=["tsp", "partition", "maxcut"],
)
def test_ising_operator_reproduces_every_qubo_energy(
    build: Callable[[FloatArray], QuboProblem], city: FloatArray
) -> None:
    qubo = build(city).qubo
    operator, constant = qubo.to_ising()
    assert operator.num_qubits == qubo.num_variables
    diagonal = operator.to_matrix(sparse=True).diagonal().real
    np.testing.assert_allclose(diagonal + constant, qubo.energies(), atol=1e-9)
    # The operator is diagonal: no X or Y terms.
    assert all(set(label) <= {"I", "Z"} for label in operator.paulis.to_labels())
