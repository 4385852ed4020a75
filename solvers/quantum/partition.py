"""Split k stops between two vehicles as a QUBO (one qubit per stop).

``x[i] = 1`` puts stop ``i`` on vehicle 1, ``x[i] = 0`` on vehicle 0. The objective is

    cluster + balance_weight * (load_1 - target)**2

where ``cluster`` is the sum of pairwise distances between stops sharing a vehicle (nearby stops
ride together; minimising it is a weighted max-cut) and ``target`` is the middle of the loads
vehicle 1 may carry without either vehicle exceeding its capacity. Capacities are hard
constraints of the original problem. A QUBO cannot hold an inequality without slack qubits, so
the capacity penalty is this quadratic balance term: it grows with the distance from the middle
of the feasible band, and its weight is set from an upper bound on the cluster cost so that
every over-capacity split costs more than every feasible one. Inside the band it still prefers
balanced loads, which is why it is part of the objective rather than a pure penalty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    subset_sums,
)

_TOL = 1e-9


def cluster_costs(pair_distances: FloatArray, indices: IntArray) -> FloatArray:
    """Sum of distances between stops on the same vehicle, for each basis-state index."""
    b = bit_matrix(indices, pair_distances.shape[0]).astype(np.float64)
    ones = ((b @ pair_distances) * b).sum(axis=1)
    zeros = (((1 - b) @ pair_distances) * (1 - b)).sum(axis=1)
    return np.asarray((ones + zeros) / 2, dtype=np.float64)


@dataclass(frozen=True)
class PartitionEncoding:
    """Two-vehicle split of stops encoded as a QUBO; solutions give each stop's vehicle."""

    kind: ClassVar[str] = "partition"
    sense: ClassVar[Sense] = "min"

    pair_distances: FloatArray
    demands: FloatArray
    capacities: tuple[float, float]
    target_load: float
    balance_weight: float
    qubo: Qubo
    _loads: FloatArray = field(repr=False)

    @property
    def num_stops(self) -> int:
        """Stops to split (qubits)."""
        return int(self.demands.shape[0])

    def loads(self, assignment: tuple[int, ...]) -> tuple[float, float]:
        """Load of vehicle 0 and vehicle 1 for an assignment."""
        x = np.asarray(assignment, dtype=np.float64)
        load_1 = float(self.demands @ x)
        return float(self.demands.sum()) - load_1, load_1

    def is_within_capacity(self, assignment: tuple[int, ...]) -> bool:
        """Whether neither vehicle is over capacity."""
        load_0, load_1 = self.loads(assignment)
        return load_0 <= self.capacities[0] + _TOL and load_1 <= self.capacities[1] + _TOL

    def objective(self, assignment: tuple[int, ...]) -> float:
        """Cluster cost plus the balance term of one assignment."""
        index = bits_to_index(assignment)
        cluster = float(cluster_costs(self.pair_distances, np.array([index]))[0])
        _, load_1 = self.loads(assignment)
        return cluster + self.balance_weight * (load_1 - self.target_load) ** 2

    def feasible(self, indices: IntArray) -> BoolArray:
        """True where neither vehicle is over capacity."""
        load_1 = self._loads[indices]
        total = float(self.demands.sum())
        return (load_1 <= self.capacities[1] + _TOL) & (total - load_1 <= self.capacities[0] + _TOL)

    def decode(self, index: int) -> Decoded:
        """Read each stop's vehicle; repair when a vehicle is over capacity.

        Repair moves the smallest-demand stop off the overloaded vehicle until both fit; if
        that cycles, it takes the feasible split nearest in Hamming distance (ties: lowest
        objective), which always exists because the builder checked one does.
        """
        k = self.num_stops
        bits = list(index_to_bits(index, k))
        feasible = self.is_within_capacity(tuple(bits))
        for _ in range(k):
            if self.is_within_capacity(tuple(bits)):
                break
            load_0, _ = self.loads(tuple(bits))
            heavy = 0 if load_0 > self.capacities[0] + _TOL else 1
            on_heavy = [i for i in range(k) if bits[i] == heavy]
            lightest = min(on_heavy, key=lambda i: (self.demands[i], i))
            bits[lightest] = 1 - heavy
        if not self.is_within_capacity(tuple(bits)):
            bits = list(index_to_bits(self._nearest_feasible(index), k))
        solution = tuple(bits)
        return Decoded(solution=solution, cost=self.objective(solution), feasible=feasible)

    def _nearest_feasible(self, index: int) -> int:
        candidates = np.flatnonzero(self.feasible(np.arange(1 << self.num_stops)))
        hamming = np.bitwise_count(candidates ^ index)
        near = candidates[hamming == hamming.min()]
        costs = [self.objective(index_to_bits(int(c), self.num_stops)) for c in near]
        return int(near[int(np.argmin(costs))])

    def encode(self, solution: tuple[int, ...]) -> int:
        """Basis-state index of an assignment."""
        if len(solution) != self.num_stops or set(solution) - {0, 1}:
            raise ValueError("an assignment gives vehicle 0 or 1 for every stop")
        return bits_to_index(solution)

    def exact(self) -> ExactOptimum:
        """Best feasible split by enumerating all ``2**k`` assignments (vectorised)."""
        kept_idx: list[IntArray] = []
        kept_cost: list[FloatArray] = []
        for chunk in index_chunks(self.num_stops):
            idx = chunk[self.feasible(chunk)]
            load_1 = self._loads[idx]
            cost = cluster_costs(self.pair_distances, idx)
            cost = cost + self.balance_weight * (load_1 - self.target_load) ** 2
            if idx.size:
                near_min = cost <= cost.min() + _TOL * max(1.0, abs(float(cost.min())))
                kept_idx.append(idx[near_min])
                kept_cost.append(cost[near_min])
        costs = np.concatenate(kept_cost)
        best = float(costs.min())
        optimal = np.concatenate(kept_idx)[costs <= best + _TOL * max(1.0, abs(best))]
        return ExactOptimum(
            cost=float(best),
            solution=index_to_bits(int(optimal[0]), self.num_stops),
            optimal_indices=np.sort(optimal).astype(np.int64),
        )


def partition_qubo(
    distances: npt.ArrayLike,
    demands: npt.ArrayLike,
    capacities: tuple[float, float],
    *,
    cap: int = PARTITION_QUBIT_CAP,
) -> PartitionEncoding:
    """Encode the split of ``k`` stops between two vehicles with capacities as a QUBO.

    ``distances`` is the ``k x k`` matrix between the stops (the depot is not part of it);
    asymmetric matrices are symmetrised. Raises ``ValueError`` when no split fits.
    """
    d = np.asarray(distances, dtype=np.float64)
    q = np.asarray(demands, dtype=np.float64)
    k = q.shape[0]
    if d.shape != (k, k) or k < 1:
        raise ValueError("distances must be k x k for k demands")
    if np.any(d < 0) or np.any(q < 0) or min(capacities) < 0:
        raise ValueError("distances, demands and capacities must be non-negative")
    check_cap(k, cap, "partition")
    pair = (d + d.T) / 2
    np.fill_diagonal(pair, 0.0)
    total = float(q.sum())
    low, high = total - capacities[0], capacities[1]
    loads = subset_sums(q)
    ok = (loads >= low - _TOL) & (loads <= high + _TOL)
    if not ok.any():
        raise ValueError("no split of the stops fits the two capacities")
    target = (low + high) / 2
    deviation = np.abs(loads - target)
    # Cluster cost lies in [0, sum of pair distances]; the weight lifts the cheapest infeasible
    # deviation above the dearest feasible one by more than that whole range.
    weight = 0.0
    if not ok.all():
        gap = float(deviation[~ok].min() ** 2 - deviation[ok].max() ** 2)
        spread = float(np.triu(pair, 1).sum())
        weight = (1.01 * spread if spread > 0 else 1.0) / gap

    # Cluster: sum_{i<j} p_ij [x_i == x_j] = sum p_ij (1 - x_i - x_j + 2 x_i x_j).
    upper = np.triu(pair, 1)
    dense = 2 * upper + weight * np.outer(q, q)
    linear = -pair.sum(axis=1) - 2 * weight * target * q
    offset = float(upper.sum()) + weight * target**2
    return PartitionEncoding(
        pair_distances=pair,
        demands=q,
        capacities=(float(capacities[0]), float(capacities[1])),
        target_load=float(target),
        balance_weight=float(weight),
        qubo=Qubo.from_dense(dense, linear, offset),
        _loads=loads,
    )
