"""`/api/v1/quantum/*` over the quantum services."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.pagination import PageRequest
from core.validation import Body
from models import OptimizationJob, QuantumJob
from models.enums import JobStatus
from models.permissions import Operation
from models.quantum_inputs import QuantumOptimizeRequest, QuantumSimulateRequest
from rest.auth import authorize, path_uuid
from rest.envelope import pagination, success
from rest.idempotency import idempotent
from rest.parsing import parse_body, parse_query
from rest.serialize import to_json
from services.quantum import jobs, simulate
from services.quantum.health import quantum_health


class OptimizeQuery(Body):
    wait: float = Field(default=0, ge=0, le=60, description="seconds to wait for the result")


class JobListQuery(Body):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)


def run_json(run: QuantumJob) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "status": str(run.status),
        "backend": run.backend,
        "qubits_used": run.qubits_used,
        "circuit_depth": run.circuit_depth,
        "qaoa_layers": run.qaoa_layers,
        "classical_optimizer": run.classical_optimizer,
        "result_energy": run.result_energy,
        "result_bitstring": run.result_bitstring,
        "ibm_job_id": run.ibm_job_id,
        "execution_time_ms": run.execution_time_ms,
        "raw_result": run.raw_result,
        "created_at": to_json(run.created_at),
        "completed_at": to_json(run.completed_at),
    }


def job_json(job: OptimizationJob, runs: list[QuantumJob] | None = None) -> dict[str, Any]:
    result = job.result_data or {}
    body: dict[str, Any] = {
        "id": str(job.id),
        "route_id": to_json(job.route_id),
        "status": str(job.status),
        "solver_type": str(job.solver_type),
        "input_hash": job.input_hash,
        "options": (job.input_data or {}).get("quantum"),
        "execution_time_ms": job.execution_time_ms,
        "solution_quality_score": job.solution_quality_score,
        "error_message": job.error_message,
        "comparison": result.get("comparison"),
        "result": {k: v for k, v in result.items() if k != "comparison"} if result else None,
        "created_at": to_json(job.created_at),
        "started_at": to_json(job.started_at),
        "completed_at": to_json(job.completed_at),
    }
    if runs is not None:
        body["quantum_runs"] = [run_json(r) for r in runs]
    return body


async def optimize(request: Request) -> JSONResponse:
    """202 with the job; with `?wait=S`, 200 with the finished job when it is done by then."""
    actor = await authorize(request, Operation.QUANTUM_OPTIMIZE)
    query = parse_query(request, OptimizeQuery)
    data = await parse_body(request, QuantumOptimizeRequest)
    state = request.app.state
    queue = getattr(state, "quantum_jobs", None) or jobs.BrokerQuantumQueue()
    async with state.db.session(actor.workspace_id) as session:
        job = await jobs.request_quantum_job(
            session=session, actor=actor, data=data, settings=state.settings, queue=queue
        )
        body = job_json(job)
    if query.wait > 0:
        view = await jobs.wait_for_quantum_job(
            db=state.db, actor=actor, job_id=job.id, timeout_s=query.wait
        )
        if view.job.status in jobs.FINAL:
            jobs.raise_if_quantum_timeout(view.job)
            return success(job_json(view.job, view.runs))
    return success(body, status_code=202)


async def get_job(request: Request) -> JSONResponse:
    """The job, its circuit runs and the classical comparison; 504 QUANTUM_TIMEOUT when the
    quantum budget ran out and the client had disabled the fallback."""
    actor = await authorize(request, Operation.QUANTUM_JOB_READ)
    job_id = path_uuid(request, "job_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        view = await jobs.get_quantum_job(session=session, actor=actor, job_id=job_id)
    jobs.raise_if_quantum_timeout(view.job)
    return success(job_json(view.job, view.runs))


async def list_jobs(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.QUANTUM_JOB_LIST)
    query = parse_query(request, JobListQuery)
    page = PageRequest(query.page, query.per_page)
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await jobs.list_quantum_jobs(session=session, actor=actor, request=page)
        items = [job_json(j) for j in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def run_simulation(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.QUANTUM_SIMULATE)
    data = await parse_body(request, QuantumSimulateRequest)
    async with request.app.state.db.session(actor.workspace_id) as session:
        job, view = await simulate.simulate(session=session, actor=actor, data=data)
        job_id = str(job.id)
    return success({"job_id": job_id, "status": JobStatus.COMPLETED.value, **view})


async def health(request: Request) -> JSONResponse:
    await authorize(request, Operation.QUANTUM_HEALTH)
    return success(await quantum_health(request.app.state.settings))


routes: list[BaseRoute] = [
    Route("/quantum/optimize", idempotent(optimize), methods=["POST"]),
    Route("/quantum/jobs", list_jobs, methods=["GET"]),
    Route("/quantum/job/{job_id}", get_job, methods=["GET"]),
    Route("/quantum/simulate", run_simulation, methods=["POST"]),
    Route("/quantum/health", health, methods=["GET"]),
]
