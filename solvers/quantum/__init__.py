"""QAOA on small routing-shaped QUBOs (TSP, two-vehicle partition, MaxCut).

Pure and seeded. Importing this package loads numpy only; Qiskit, Aer and the IBM Runtime
client are imported inside the functions that use them.
"""

from solvers.quantum.backends import (
    AerNoiseModelBackend,
    AerStatevectorBackend,
    JobState,
    SamplingBackend,
    Submission,
    TranspileReport,
)
from solvers.quantum.encoding import (
    PARTITION_QUBIT_CAP,
    TSP_QUBIT_CAP,
    Decoded,
    ExactOptimum,
    QuboProblem,
)
from solvers.quantum.errors import BackendUnavailable, QuantumError, QubitCapExceeded
from solvers.quantum.health import health
from solvers.quantum.ibm import IbmRuntimeBackend, IbmRuntimeConfig
from solvers.quantum.maxcut import MaxCutEncoding, maxcut_qubo
from solvers.quantum.partition import PartitionEncoding, partition_qubo
from solvers.quantum.qaoa import OptimizedAnsatz, QaoaParams, default_reps, optimize_qaoa
from solvers.quantum.qubo import Qubo
from solvers.quantum.result import QuantumRunResult
from solvers.quantum.runner import PreparedRun, complete, prepare, solve, submit
from solvers.quantum.tsp import TspEncoding, patrol_loop_qubo, tsp_qubo

__all__ = [
    "PARTITION_QUBIT_CAP",
    "TSP_QUBIT_CAP",
    "AerNoiseModelBackend",
    "AerStatevectorBackend",
    "BackendUnavailable",
    "Decoded",
    "ExactOptimum",
    "IbmRuntimeBackend",
    "IbmRuntimeConfig",
    "JobState",
    "MaxCutEncoding",
    "OptimizedAnsatz",
    "PartitionEncoding",
    "PreparedRun",
    "QaoaParams",
    "QuantumError",
    "QuantumRunResult",
    "QubitCapExceeded",
    "Qubo",
    "QuboProblem",
    "SamplingBackend",
    "Submission",
    "TranspileReport",
    "TspEncoding",
    "complete",
    "default_reps",
    "health",
    "maxcut_qubo",
    "optimize_qaoa",
    "partition_qubo",
    "patrol_loop_qubo",
    "prepare",
    "solve",
    "submit",
    "tsp_qubo",
]
