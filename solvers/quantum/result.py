"""The outcome of one QAOA circuit run, shaped like a ``quantum_jobs`` row."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class QuantumRunResult:
    """One QAOA run. ``to_record`` gives the ``quantum_jobs`` columns it fills.

    ``result_bitstring`` is the returned solution in variable order (``x[0]`` first) and
    ``result_energy`` its QUBO energy. ``raw_result`` holds the sample statistics, the exact
    optimum, the uniform-random baseline, the optimiser trace and the transpilation report.
    """

    backend: str
    qubits_used: int
    circuit_depth: int
    """Depth of the bound ansatz as built (before any device transpilation)."""
    qaoa_layers: int
    classical_optimizer: str
    result_energy: float | None
    result_bitstring: str | None
    raw_result: dict[str, Any]
    execution_time_ms: int
    ibm_job_id: str | None = None
    transpiled_depth: int | None = None
    solution: tuple[int, ...] = field(default=())
    cost: float | None = None

    def to_record(self) -> dict[str, Any]:
        """Column values for a ``quantum_jobs`` row (ids, status and timestamps excluded)."""
        return {
            "backend": self.backend,
            "qubits_used": self.qubits_used,
            "circuit_depth": self.circuit_depth,
            "qaoa_layers": self.qaoa_layers,
            "classical_optimizer": self.classical_optimizer,
            "result_energy": self.result_energy,
            "result_bitstring": self.result_bitstring,
            "raw_result": self.raw_result,
            "execution_time_ms": self.execution_time_ms,
            "ibm_job_id": self.ibm_job_id,
        }
