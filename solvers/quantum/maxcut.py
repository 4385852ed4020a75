"""Weighted MaxCut as a QUBO: split a district's sites into two service zones.

``x[i]`` is the zone of site ``i``; the cut weight (sum of weights of edges between zones) is
maximised, so the QUBO energy is minus the cut. Every assignment is a valid split.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from solvers.quantum.encoding import (
    PARTITION_QUBIT_CAP,
    Decoded,
    ExactOptimum,
    Sense,
    check_cap,
)
from solvers.quantum.qubo import (
    BoolArray,
    FloatArray,
    IntArray,
    Qubo,
    bit_matrix,
    bits_to_index,
    index_chunks,
    index_to_bits,
)


def cut_weights(weights: FloatArray, indices: IntArray) -> FloatArray:
    """Cut weight of each basis-state index for a symmetric weight matrix."""
    b = bit_matrix(indices, weights.shape[0]).astype(np.float64)
    return np.asarray(((b @ weights) * (1 - b)).sum(axis=1), dtype=np.float64)


@dataclass(frozen=True)
class MaxCutEncoding:
    """A two-zone split encoded as a QUBO; solutions give each site's zone."""

    kind: ClassVar[str] = "maxcut"
    sense: ClassVar[Sense] = "max"

    weights: FloatArray
    qubo: Qubo

    @property
    def num_sites(self) -> int:
        """Sites (qubits)."""
        return int(self.weights.shape[0])

    def cut(self, assignment: tuple[int, ...]) -> float:
        """Cut weight of an assignment."""
        return float(cut_weights(self.weights, np.array([bits_to_index(assignment)]))[0])

    def feasible(self, indices: IntArray) -> BoolArray:
        """Every split is valid."""
        return np.ones(indices.shape[0], dtype=bool)

    def decode(self, index: int) -> Decoded:
        """Each site's zone; never needs repair."""
        solution = index_to_bits(index, self.num_sites)
        return Decoded(solution=solution, cost=self.cut(solution), feasible=True)

    def encode(self, solution: tuple[int, ...]) -> int:
        """Basis-state index of an assignment."""
        if len(solution) != self.num_sites or set(solution) - {0, 1}:
            raise ValueError("an assignment gives zone 0 or 1 for every site")
        return bits_to_index(solution)

    def exact(self) -> ExactOptimum:
        """Maximum cut by enumerating all ``2**n`` splits (vectorised)."""
        cuts = np.concatenate([cut_weights(self.weights, c) for c in index_chunks(self.num_sites)])
        best = float(cuts.max())
        optimal = np.flatnonzero(cuts >= best - 1e-9 * max(1.0, abs(best))).astype(np.int64)
        return ExactOptimum(
            cost=best,
            solution=index_to_bits(int(optimal[0]), self.num_sites),
            optimal_indices=optimal,
        )


def maxcut_qubo(weights: npt.ArrayLike, *, cap: int = PARTITION_QUBIT_CAP) -> MaxCutEncoding:
    """Encode weighted MaxCut; ``weights`` is symmetrised and its diagonal ignored."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.shape[0] < 2:
        raise ValueError("weights must be a square matrix over at least two sites")
    check_cap(w.shape[0], cap, "maxcut")
    sym = (w + w.T) / 2
    np.fill_diagonal(sym, 0.0)
    # -cut = -sum_{i<j} w_ij (x_i + x_j - 2 x_i x_j)
    upper = np.triu(sym, 1)
    return MaxCutEncoding(
        weights=sym,
        qubo=Qubo.from_dense(2 * upper, -sym.sum(axis=1), 0.0),
    )
