"""What-if QAOA on a small weighted graph: two service zones (MaxCut) or a patrol loop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from core.principal import Principal
from models import OptimizationJob, QuantumJob
from models.enums import JobStatus, SolverType
from models.quantum_inputs import QuantumSimulateRequest, SimulateObjective
from services.audit import record_audit
from services.routing import problem as canon
from solvers.quantum.encoding import PARTITION_QUBIT_CAP, TSP_QUBIT_CAP
from solvers.quantum.errors import QubitCapExceeded
from solvers.quantum.qaoa import QaoaParams
from solvers.quantum.result import QuantumRunResult

# Answered inside the request: keep circuits to the sizes that finish in seconds.
SIMULATE_QUBIT_CAP = 16


def _weights(data: QuantumSimulateRequest) -> np.ndarray:
    w = np.zeros((data.num_nodes, data.num_nodes))
    seen = np.zeros_like(w, dtype=bool)
    for edge in data.edges:
        w[edge.source, edge.target] = w[edge.target, edge.source] = edge.weight
        seen[edge.source, edge.target] = seen[edge.target, edge.source] = True
    if data.objective is SimulateObjective.TSP:
        np.fill_diagonal(seen, True)
        if not seen.all():
            raise ValidationFailed.field(
                "edges", "a patrol loop needs an edge between every two nodes"
            )
    return w


def _run(data: QuantumSimulateRequest) -> QuantumRunResult:
    from solvers.quantum import maxcut_qubo, patrol_loop_qubo, solve

    weights = _weights(data)
    try:
        if data.objective is SimulateObjective.MAXCUT:
            encoding: Any = maxcut_qubo(weights, cap=min(PARTITION_QUBIT_CAP, SIMULATE_QUBIT_CAP))
        else:
            encoding = patrol_loop_qubo(
                weights, start=data.start, cap=min(TSP_QUBIT_CAP, SIMULATE_QUBIT_CAP)
            )
    except QubitCapExceeded as exc:
        raise ValidationFailed.field(
            "num_nodes", f"{exc}; a simulation runs inside the request"
        ) from None
    params = QaoaParams(
        reps=data.qaoa_layers,
        optimizer=data.optimizer,
        max_iterations=data.max_iterations,
        time_limit_s=data.timeout_s,
        shots=data.shots,
        seed=data.seed,
    )
    return solve(encoding, params)


def simulation_view(result: QuantumRunResult) -> dict[str, Any]:
    """Circuit metrics, top sampled states, the exact optimum and the baselines."""
    raw = result.raw_result
    return {
        "objective": raw["problem"],
        "sense": raw["sense"],
        "circuit": {
            "qubits": result.qubits_used,
            "depth": result.circuit_depth,
            "qaoa_layers": result.qaoa_layers,
            "classical_optimizer": result.classical_optimizer,
            "evaluations": raw["optimizer"]["evaluations"],
            "optimizer_stopped": raw["optimizer"]["stopped"],
            "backend": result.backend,
        },
        "best": {
            "solution": raw["solution"],
            "cost": raw["cost"],
            "bitstring": result.result_bitstring,
        },
        "exact_optimum": raw["exact_optimum"],
        "gap": raw["gap"],
        "approximation_ratio": raw["approximation_ratio"],
        "p_feasible": raw["p_feasible"],
        "p_optimal": raw["p_optimal"],
        "top_states": raw["top_states"],
        "uniform_random": raw["uniform_random"],
        "execution_time_ms": result.execution_time_ms,
    }


async def simulate(
    *, session: AsyncSession, actor: Principal, data: QuantumSimulateRequest
) -> tuple[OptimizationJob, dict[str, Any]]:
    """Run QAOA on the graph now (seconds) and keep only the job and its circuit run."""
    _weights(data)  # a bad graph is refused before any work
    started = datetime.now(UTC)
    result = await asyncio.to_thread(_run, data)
    view = simulation_view(result)
    request = data.model_dump(mode="json")
    job = OptimizationJob(
        workspace_id=actor.workspace_id,
        solver_type=SolverType.QUANTUM,
        status=JobStatus.COMPLETED,
        input_hash=canon.input_hash({"simulate": request}),
        input_data={"simulate": request},
        result_data={"simulate": {k: v for k, v in view.items() if k != "top_states"}},
        execution_time_ms=result.execution_time_ms,
        requested_by=actor.user_id,
        started_at=started,
        completed_at=datetime.now(UTC),
    )
    session.add(job)
    await session.flush()
    session.add(
        QuantumJob(
            workspace_id=actor.workspace_id,
            optimization_job_id=job.id,
            status=JobStatus.COMPLETED,
            completed_at=datetime.now(UTC),
            **result.to_record(),
        )
    )
    await record_audit(
        session=session,
        actor=actor,
        action="quantum.simulated",
        resource_type="optimization_job",
        resource_id=job.id,
        changes={"objective": data.objective.value, "qubits": result.qubits_used},
    )
    await session.flush()
    return job, view
