"""The interface every QUBO-encoded problem offers to the QAOA runner and the statistics."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from solvers.quantum.errors import QubitCapExceeded
from solvers.quantum.qubo import BoolArray, IntArray, Qubo

Sense = Literal["min", "max"]

# Qubit caps: a TSP-shaped QUBO has dense penalty couplings and (n-1)**2 qubits, so its
# statevector objective is the expensive one; partition-shaped QUBOs use one qubit per stop.
TSP_QUBIT_CAP = 16
PARTITION_QUBIT_CAP = 20


@dataclass(frozen=True)
class Decoded:
    """A decoded sample: a valid solution (repaired if needed) and its cost in problem units."""

    solution: tuple[int, ...]
    cost: float
    feasible: bool
    """Whether the raw bitstring already encoded a valid solution (no repair needed)."""


@dataclass(frozen=True)
class ExactOptimum:
    """The true optimum of the original problem, found by brute force."""

    cost: float
    solution: tuple[int, ...]
    optimal_indices: IntArray
    """Basis-state indices that encode an optimal solution (for P(optimal))."""


class QuboProblem(Protocol):
    """A problem encoded as a QUBO, with decoding back to the problem's own solutions."""

    @property
    def kind(self) -> str:
        """Short name of the problem shape: ``tsp``, ``partition`` or ``maxcut``."""
        ...

    @property
    def sense(self) -> Sense:
        """Whether :attr:`Decoded.cost` is minimised or maximised."""
        ...

    @property
    def qubo(self) -> Qubo:
        """The QUBO whose minimum encodes an optimal solution."""
        ...

    def decode(self, index: int) -> Decoded:
        """Decode a basis-state index into a valid solution, repairing it when infeasible."""
        ...

    def encode(self, solution: tuple[int, ...]) -> int:
        """Basis-state index of a valid solution."""
        ...

    def feasible(self, indices: IntArray) -> BoolArray:
        """Which basis-state indices encode a valid solution without repair."""
        ...

    def exact(self) -> ExactOptimum:
        """Solve the original problem by brute force (independently of the QUBO)."""
        ...


def check_cap(requested: int, cap: int, shape: str) -> None:
    """Raise :class:`QubitCapExceeded` when ``requested`` qubits exceed ``cap``."""
    if requested > cap:
        raise QubitCapExceeded(requested=requested, cap=cap, shape=shape)
