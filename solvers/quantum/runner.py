"""End-to-end QAOA: optimise on the exact simulator, sample on a backend, decode, compare.

``solve`` does it all in one call. A caller that must not block on a hardware queue uses
``prepare`` (optimisation), ``submit`` (returns the job id) and later ``complete``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from solvers.quantum.backends import AerStatevectorBackend, SamplingBackend, Submission
from solvers.quantum.encoding import ExactOptimum, QuboProblem
from solvers.quantum.qaoa import OptimizedAnsatz, QaoaParams, optimize_qaoa, pick_engine
from solvers.quantum.qubo import FloatArray, index_to_bitstring
from solvers.quantum.result import QuantumRunResult
from solvers.quantum.stats import counts_to_indices, sample_statistics


@dataclass(frozen=True)
class PreparedRun:
    """A problem with its optimised ansatz, ready to be sampled."""

    problem: QuboProblem
    params: QaoaParams
    energies: FloatArray
    exact: ExactOptimum
    optimized: OptimizedAnsatz
    started: float


def prepare(problem: QuboProblem, params: QaoaParams | None = None) -> PreparedRun:
    """Brute-force the optimum and optimise the QAOA angles for ``problem``."""
    started = time.perf_counter()
    chosen = params or QaoaParams()
    energies = problem.qubo.energies()
    exact = problem.exact()
    optimized = optimize_qaoa(problem.qubo, chosen, energies)
    return PreparedRun(problem, chosen, energies, exact, optimized, started)


def submit(run: PreparedRun, backend: SamplingBackend) -> Submission:
    """Submit the final sampling of the optimised circuit."""
    return backend.submit(
        run.optimized.measured_circuit(), shots=run.params.shots, seed=run.params.seed
    )


def complete(
    run: PreparedRun, backend: SamplingBackend, submission: Submission
) -> QuantumRunResult:
    """Fetch the samples, decode them and build the result (waits for the job)."""
    counts = counts_to_indices(backend.result(submission.job_id))
    problem, optimized = run.problem, run.optimized
    stats = sample_statistics(
        problem, counts, run.exact, run.energies, seed=run.params.seed, top_k=run.params.top_k
    )
    n = problem.qubo.num_variables
    index = problem.encode(stats.best.solution)
    raw = {
        "problem": problem.kind,
        "sense": problem.sense,
        "solution": list(stats.best.solution),
        "cost": stats.best.cost,
        **stats.as_dict(),
        "exact_optimum": {"cost": run.exact.cost, "solution": list(run.exact.solution)},
        "optimizer": {
            "gammas": list(optimized.gammas),
            "betas": list(optimized.betas),
            "operator_scale": optimized.scale,
            "expected_energy": optimized.expected_energy,
            "evaluations": optimized.evaluations,
            "stopped": optimized.stopped,
            "seconds": optimized.optimize_seconds,
            "engine": pick_engine(run.params.engine, n, run.params.device),
        },
        "transpiled": submission.transpiled.as_dict() if submission.transpiled else None,
        "seed": run.params.seed,
        "job_id": submission.job_id,
    }
    return QuantumRunResult(
        backend=submission.backend_name,
        qubits_used=n,
        circuit_depth=int(optimized.bound_circuit().depth()),
        qaoa_layers=optimized.reps,
        classical_optimizer=run.params.optimizer,
        result_energy=float(run.energies[index]),
        result_bitstring=index_to_bitstring(index, n),
        raw_result=raw,
        execution_time_ms=round((time.perf_counter() - run.started) * 1000),
        ibm_job_id=submission.job_id if backend.is_remote else None,
        transpiled_depth=submission.transpiled.depth if submission.transpiled else None,
        solution=stats.best.solution,
        cost=stats.best.cost,
    )


def solve(
    problem: QuboProblem,
    params: QaoaParams | None = None,
    backend: SamplingBackend | None = None,
) -> QuantumRunResult:
    """Run QAOA on ``problem`` and sample on ``backend`` (Aer statevector by default)."""
    chosen_backend = backend or AerStatevectorBackend((params or QaoaParams()).device)
    run = prepare(problem, params)
    return complete(run, chosen_backend, submit(run, chosen_backend))
