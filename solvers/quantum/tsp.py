"""Travelling salesman tour with a fixed depot as a QUBO (also used for patrol loops).

Node 0 of the distance matrix is the depot; the ``m = n - 1`` other nodes are stops. Variable
``x[s, t]`` (index ``s * m + t``) says that stop ``s`` (node ``s + 1``) is visited at position
``t``, giving ``m**2`` qubits. Fixing the depot removes the rotational symmetry of the tour.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from solvers.quantum.encoding import TSP_QUBIT_CAP, Decoded, ExactOptimum, Sense, check_cap
from solvers.quantum.qubo import (
    BoolArray,
    FloatArray,
    IntArray,
    Qubo,
    bit_matrix,
    bits_to_index,
    index_to_bits,
)

# Brute force over (n-1)! tours stays below a second up to 9 stops.
MAX_BRUTE_FORCE_STOPS = 9


def _as_distance_matrix(distances: npt.ArrayLike) -> FloatArray:
    d = np.asarray(distances, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 2:
        raise ValueError("distances must be a square matrix with at least two nodes")
    if not np.all(np.isfinite(d)) or np.any(d < 0):
        raise ValueError("distances must be finite and non-negative")
    return d


def tour_length_bound(distances: FloatArray) -> float:
    """Upper bound on any tour: every node leaves along exactly one edge, at worst its longest."""
    off_diagonal = np.where(np.eye(distances.shape[0], dtype=bool), -np.inf, distances)
    return float(off_diagonal.max(axis=1).sum())


@dataclass(frozen=True)
class TspEncoding:
    """A depot-anchored tour encoded as a QUBO; solutions are node orders starting at 0."""

    kind: ClassVar[str] = "tsp"
    sense: ClassVar[Sense] = "min"

    distances: FloatArray
    qubo: Qubo
    penalty: float
    nodes: tuple[int, ...]
    """Caller's node labels: solutions use them, so a patrol loop can start anywhere."""

    @property
    def num_stops(self) -> int:
        """Nodes besides the depot."""
        return int(self.distances.shape[0]) - 1

    def tour_length(self, tour: tuple[int, ...]) -> float:
        """Length of the closed tour given in caller's labels, starting at the depot."""
        order = [self.nodes.index(node) for node in tour]
        legs = zip(order, [*order[1:], order[0]], strict=True)
        return float(sum(self.distances[a, b] for a, b in legs))

    def _permutation_matrices(self, indices: IntArray) -> npt.NDArray[np.uint8]:
        m = self.num_stops
        return bit_matrix(indices, m * m).reshape(-1, m, m)

    def feasible(self, indices: IntArray) -> BoolArray:
        """True where every stop has one position and every position one stop."""
        x = self._permutation_matrices(indices)
        return np.all(x.sum(axis=1) == 1, axis=1) & np.all(x.sum(axis=2) == 1, axis=1)

    def decode(self, index: int) -> Decoded:
        """Read the tour position by position; repair greedily when not a permutation.

        At each position, among the unvisited stops marked there the one nearest to the
        previous node is taken; if none is marked, the nearest unvisited stop. A valid
        permutation matrix decodes unchanged.
        """
        m = self.num_stops
        x = np.array(index_to_bits(index, m * m), dtype=np.uint8).reshape(m, m)
        feasible = bool(np.all(x.sum(axis=0) == 1) and np.all(x.sum(axis=1) == 1))
        order = [0]
        unvisited = set(range(1, m + 1))
        for t in range(m):
            marked = [s + 1 for s in range(m) if x[s, t] and s + 1 in unvisited]
            pool = marked or sorted(unvisited)
            nxt = min(pool, key=lambda node: (self.distances[order[-1], node], node))
            order.append(nxt)
            unvisited.remove(nxt)
        tour = tuple(self.nodes[i] for i in order)
        return Decoded(solution=tour, cost=self.tour_length(tour), feasible=feasible)

    def encode(self, solution: tuple[int, ...]) -> int:
        """Basis-state index of a tour given in caller's labels, starting at the depot."""
        m = self.num_stops
        order = [self.nodes.index(node) for node in solution]
        if order[0] != 0 or sorted(order) != list(range(m + 1)):
            raise ValueError("a tour starts at the depot and visits every stop once")
        bits = [0] * (m * m)
        for t, node in enumerate(order[1:]):
            bits[(node - 1) * m + t] = 1
        return bits_to_index(bits)

    def exact(self) -> ExactOptimum:
        """Shortest tour by enumerating all orders of the stops."""
        m = self.num_stops
        if m > MAX_BRUTE_FORCE_STOPS:
            raise ValueError(f"brute force is limited to {MAX_BRUTE_FORCE_STOPS} stops")
        tours = [(0, *p) for p in itertools.permutations(range(1, m + 1))]
        lengths = np.array([self.tour_length(tuple(self.nodes[i] for i in t)) for t in tours])
        best = float(lengths.min())
        tol = 1e-9 * max(1.0, abs(best))
        optimal = [tuple(self.nodes[i] for i in t) for t, c in zip(tours, lengths, strict=True)]
        optimal = [t for t, c in zip(optimal, lengths, strict=True) if c <= best + tol]
        return ExactOptimum(
            cost=best,
            solution=optimal[0],
            optimal_indices=np.array(sorted(self.encode(t) for t in optimal), dtype=np.int64),
        )


def tsp_qubo(
    distances: npt.ArrayLike,
    *,
    penalty: float | None = None,
    cap: int = TSP_QUBIT_CAP,
    nodes: tuple[int, ...] | None = None,
) -> TspEncoding:
    """Encode a closed tour from depot node 0 through all other nodes as a QUBO.

    Energy = tour length + ``penalty`` * (violations of "each stop once" and "each position
    once", each a squared deviation). Any tour is at most :func:`tour_length_bound` long and
    any infeasible assignment pays at least ``penalty`` (distances are non-negative), so the
    default ``penalty`` = bound + 1% makes every infeasible assignment cost more than every
    feasible one, while a penalty not much larger keeps the energy scale (and with it QAOA's
    landscape) no wider than the guarantee needs. Asymmetric distances are supported.
    """
    d = _as_distance_matrix(distances)
    m = d.shape[0] - 1
    check_cap(m * m, cap, "tsp")
    if penalty is None:
        bound = tour_length_bound(d)
        penalty = 1.01 * bound if bound > 0 else 1.0
    n_vars = m * m
    dense = np.zeros((n_vars, n_vars))
    linear = np.zeros(n_vars)
    offset = 0.0

    def var(stop: int, position: int) -> int:
        return stop * m + position

    # penalty * (1 - sum x)^2 = penalty * (1 - 2 sum x + sum_i sum_j x_i x_j)
    groups = [[var(s, t) for t in range(m)] for s in range(m)]
    groups += [[var(s, t) for s in range(m)] for t in range(m)]
    for group in groups:
        offset += penalty
        linear[group] -= 2 * penalty
        dense[np.ix_(group, group)] += penalty
    for s in range(m):
        linear[var(s, 0)] += d[0, s + 1]
        linear[var(s, m - 1)] += d[s + 1, 0]
    for t in range(m - 1):
        for s in range(m):
            for u in range(m):
                if s != u:
                    dense[var(s, t), var(u, t + 1)] += d[s + 1, u + 1]
    labels = tuple(range(m + 1)) if nodes is None else tuple(nodes)
    if len(labels) != m + 1:
        raise ValueError("one label per node is needed")
    return TspEncoding(
        distances=d,
        qubo=Qubo.from_dense(dense, linear, offset),
        penalty=float(penalty),
        nodes=labels,
    )


def patrol_loop_qubo(
    distances: npt.ArrayLike,
    *,
    start: int = 0,
    penalty: float | None = None,
    cap: int = TSP_QUBIT_CAP,
) -> TspEncoding:
    """Encode a closed patrol loop through all nodes that starts and ends at ``start``.

    The loop is a tour with ``start`` as depot; solutions keep the caller's node numbers.
    """
    d = _as_distance_matrix(distances)
    order = [start, *(i for i in range(d.shape[0]) if i != start)]
    return tsp_qubo(d[np.ix_(order, order)], penalty=penalty, cap=cap, nodes=tuple(order))
