"""Quadratic unconstrained binary optimisation (QUBO) models.

Bit conventions used throughout the package: variable ``x[i]`` is qubit ``i``; a basis-state
*index* has ``x[i]`` as its bit ``i`` (Qiskit's little-endian order), and a *bitstring* is written
in variable order, ``x[0]`` first. Qiskit count keys are the reverse of our bitstrings.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from qiskit.quantum_info import SparsePauliOp

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Enumerating 2**n energies beyond this size costs more memory than the solvers ever need.
MAX_ENUMERATED_VARIABLES = 24


def index_to_bits(index: int, num_variables: int) -> tuple[int, ...]:
    """Return the variable values ``(x[0], ..., x[n-1])`` of a basis-state index."""
    return tuple((index >> i) & 1 for i in range(num_variables))


def bits_to_index(bits: Sequence[int]) -> int:
    """Return the basis-state index of variable values ``(x[0], ..., x[n-1])``."""
    return sum(1 << i for i, b in enumerate(bits) if b)


def index_to_bitstring(index: int, num_variables: int) -> str:
    """Return the bitstring of a basis-state index in variable order (``x[0]`` first)."""
    return "".join(str(b) for b in index_to_bits(index, num_variables))


def bitstring_to_index(bitstring: str) -> int:
    """Return the basis-state index of a bitstring written in variable order."""
    return bits_to_index([int(c) for c in bitstring])


def bit_matrix(indices: IntArray, num_variables: int) -> npt.NDArray[np.uint8]:
    """Return the ``len(indices) x n`` matrix of variable values for basis-state indices."""
    shifts = np.arange(num_variables, dtype=np.int64)
    return ((indices[:, None] >> shifts[None, :]) & 1).astype(np.uint8)


@dataclass(frozen=True)
class Qubo:
    """Minimise ``offset + sum_i linear[i] x_i + sum_{i<j} quadratic[i, j] x_i x_j``.

    ``quadratic`` is strictly upper triangular; use :meth:`from_dense` to fold an arbitrary
    square matrix (including its diagonal, since ``x*x == x`` for binaries) into this form.
    """

    linear: FloatArray
    quadratic: FloatArray
    offset: float = 0.0

    def __post_init__(self) -> None:
        n = self.linear.shape[0]
        if self.linear.ndim != 1 or self.quadratic.shape != (n, n):
            raise ValueError("linear must be (n,) and quadratic (n, n)")
        if np.any(np.tril(self.quadratic) != 0):
            raise ValueError("quadratic must be strictly upper triangular; use Qubo.from_dense")

    @classmethod
    def from_dense(
        cls, matrix: npt.ArrayLike, linear: npt.ArrayLike | None = None, offset: float = 0.0
    ) -> Qubo:
        """Build a QUBO from ``x^T M x + linear . x + offset`` with any square ``M``."""
        m = np.asarray(matrix, dtype=np.float64)
        n = m.shape[0]
        lin = np.zeros(n) if linear is None else np.asarray(linear, dtype=np.float64).copy()
        lin += np.diag(m)
        upper = np.triu(m + m.T, k=1)
        return cls(linear=lin, quadratic=upper, offset=float(offset))

    @property
    def num_variables(self) -> int:
        """Number of binary variables (qubits)."""
        return int(self.linear.shape[0])

    def energy(self, bits: Sequence[int] | str | int) -> float:
        """Energy of one assignment: a basis-state index, a bitstring or a sequence of bits."""
        if isinstance(bits, int):
            x = np.array(index_to_bits(bits, self.num_variables), dtype=np.float64)
        elif isinstance(bits, str):
            x = np.array([int(c) for c in bits], dtype=np.float64)
        else:
            x = np.asarray(bits, dtype=np.float64)
        if x.shape != (self.num_variables,):
            raise ValueError(f"expected {self.num_variables} bits, got {x.shape[0]}")
        return float(self.offset + self.linear @ x + x @ self.quadratic @ x)

    def energies(self) -> FloatArray:
        """Energies of all ``2**n`` basis states, indexed by basis-state index.

        Built by doubling: appending variable ``k`` copies the table for the first ``k``
        variables and adds ``linear[k]`` plus its couplings to the bits already set, which is
        ``O(n 2**n)`` work with contiguous numpy operations and no ``2**n x n`` bit matrix.
        """
        n = self.num_variables
        if n > MAX_ENUMERATED_VARIABLES:
            raise ValueError(f"refusing to enumerate 2**{n} states")
        table = np.array([self.offset], dtype=np.float64)
        for k in range(n):
            coupling = np.zeros(1, dtype=np.float64)
            for j in range(k):
                coupling = np.concatenate([coupling, coupling + self.quadratic[j, k]])
            table = np.concatenate([table, table + self.linear[k] + coupling])
        return table

    def to_ising(self) -> tuple[SparsePauliOp, float]:
        """Return ``(H, c)`` with ``<z|H|z> + c`` equal to the QUBO energy of every basis state.

        Uses ``x_i = (1 - Z_i) / 2``, so ``|0>`` is ``x = 0``.
        """
        from qiskit.quantum_info import SparsePauliOp

        n = self.num_variables
        constant = self.offset + self.linear.sum() / 2 + self.quadratic.sum() / 4
        z_coeff = -self.linear / 2 - (self.quadratic.sum(axis=0) + self.quadratic.sum(axis=1)) / 4
        terms: list[tuple[str, list[int], float]] = [
            ("Z", [i], float(z_coeff[i])) for i in range(n) if z_coeff[i] != 0
        ]
        rows, cols = np.nonzero(self.quadratic)
        terms += [
            ("ZZ", [int(i), int(j)], float(self.quadratic[i, j]) / 4)
            for i, j in zip(rows, cols, strict=True)
        ]
        if not terms:
            terms = [("I", [0], 0.0)]
        operator = SparsePauliOp.from_sparse_list(terms, num_qubits=n).simplify()
        return operator, float(constant)


def index_chunks(num_variables: int, chunk: int = 1 << 16) -> Iterator[IntArray]:
    """All basis-state indices of ``num_variables`` bits, in chunks (bounded memory)."""
    if num_variables > MAX_ENUMERATED_VARIABLES:
        raise ValueError(f"refusing to enumerate 2**{num_variables} states")
    total = 1 << num_variables
    for start in range(0, total, chunk):
        yield np.arange(start, min(total, start + chunk), dtype=np.int64)


def subset_sums(values: FloatArray) -> FloatArray:
    """``sum_i values[i] x_i`` for every basis-state index (doubling, like ``Qubo.energies``)."""
    if values.shape[0] > MAX_ENUMERATED_VARIABLES:
        raise ValueError(f"refusing to enumerate 2**{values.shape[0]} states")
    table = np.zeros(1, dtype=np.float64)
    for v in values:
        table = np.concatenate([table, table + v])
    return table
