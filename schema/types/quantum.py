"""Quantum types: jobs with their circuit runs and the classical comparison, simulations."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from models import OptimizationJob as JobRow
from models import QuantumJob as RunRow
from models.quantum_inputs import (
    QuantumBackendName,
    QuantumMode,
    QuantumOptimizeRequest,
    QuantumSimulateRequest,
    SimulateObjective,
)
from schema.requests import input_dict, parse, request
from schema.types.routing import JobStatusEnum

QuantumBackendEnum = strawberry.enum(QuantumBackendName, name="QuantumBackend")
QuantumModeEnum = strawberry.enum(QuantumMode, name="QuantumMode")
SimulateObjectiveEnum = strawberry.enum(SimulateObjective, name="SimulateObjective")


@strawberry.type(description="One QAOA circuit run (a `quantum_jobs` row).")
class QuantumRun:
    id: UUID
    status: JobStatusEnum  # type: ignore[valid-type]
    backend: str
    qubits_used: int
    circuit_depth: int
    qaoa_layers: int
    classical_optimizer: str
    result_energy: float | None
    result_bitstring: str | None
    ibm_job_id: str | None
    execution_time_ms: int | None
    raw_result: JSON | None = strawberry.field(
        description="Top sampled states, P(feasible), P(optimal), the exact optimum and gap, "
        "the uniform-random baseline, the optimiser trace, the transpilation report."
    )
    created_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: RunRow) -> QuantumRun:
        return cls(
            id=row.id,
            status=row.status,
            backend=row.backend,
            qubits_used=row.qubits_used,
            circuit_depth=row.circuit_depth,
            qaoa_layers=row.qaoa_layers,
            classical_optimizer=row.classical_optimizer,
            result_energy=row.result_energy,
            result_bitstring=row.result_bitstring,
            ibm_job_id=row.ibm_job_id,
            execution_time_ms=row.execution_time_ms,
            raw_result=JSON(row.raw_result) if row.raw_result is not None else None,
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


@strawberry.type(description="A quantum or hybrid optimization job.")
class QuantumJob:
    id: UUID
    route_id: UUID | None
    status: JobStatusEnum  # type: ignore[valid-type]
    solver_type: str
    options: JSON | None
    execution_time_ms: int | None
    solution_quality_score: float | None
    error_message: str | None
    comparison: JSON | None = strawberry.field(
        description="Classical cost, final cost, improvement, sub-problems run and improved, "
        "and whether (and why) the job fell back to the classical plan."
    )
    result: JSON | None
    runs: list[QuantumRun]
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: JobRow, runs: list[RunRow] | None = None) -> QuantumJob:
        result: dict[str, Any] = row.result_data or {}
        summary = result.get("comparison")
        return cls(
            id=row.id,
            route_id=row.route_id,
            status=row.status,
            solver_type=row.solver_type.value,
            options=JSON((row.input_data or {}).get("quantum")),
            execution_time_ms=row.execution_time_ms,
            solution_quality_score=row.solution_quality_score,
            error_message=row.error_message,
            comparison=JSON(summary) if summary is not None else None,
            result=JSON(result) if result else None,
            runs=[QuantumRun.of(r) for r in runs or []],
            created_at=row.created_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
        )


@strawberry.type
class QuantumSimulation:
    job_id: UUID
    result: JSON = strawberry.field(
        description="Circuit metrics, top sampled states, the exact optimum and baselines."
    )


@strawberry.input
class QuantumOptimizeInput:
    def to_request(self) -> QuantumOptimizeRequest:
        return request(QuantumOptimizeRequest, self)

    route_id: UUID | None = strawberry.UNSET
    location_ids: list[UUID] | None = strawberry.UNSET
    depot_location_id: UUID | None = strawberry.UNSET
    mode: QuantumModeEnum = QuantumMode.QUANTUM  # type: ignore[valid-type]
    allow_hybrid: bool = False
    qaoa_layers: int | None = strawberry.UNSET
    shots: int = 4096
    optimizer: str = "COBYLA"
    max_iterations: int = 100
    backend: QuantumBackendEnum = QuantumBackendName.AER  # type: ignore[valid-type]
    device: str | None = strawberry.UNSET
    timeout_s: float = 120.0
    allow_fallback: bool = True
    seed: int = 0


@strawberry.input
class GraphEdgeInput:
    source: int
    target: int
    weight: float = 1.0


@strawberry.input
class QuantumSimulateInput:
    def to_request(self) -> QuantumSimulateRequest:
        raw = input_dict(self)
        raw["edges"] = [dict(e) for e in raw["edges"]]
        return parse(QuantumSimulateRequest, raw)

    objective: SimulateObjectiveEnum  # type: ignore[valid-type]
    num_nodes: int
    edges: list[GraphEdgeInput]
    start: int = 0
    qaoa_layers: int | None = strawberry.UNSET
    shots: int = 4096
    optimizer: str = "COBYLA"
    max_iterations: int = 100
    timeout_s: float = 15.0
    seed: int = 0
