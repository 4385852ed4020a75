"""Quantum and hybrid optimization jobs: requested by the API, run on the `quantum` queue.

A request becomes an `optimization_jobs` row (solver type `quantum` or `hybrid`) holding the
canonical problem and the QAOA options; the worker solves it classically first, then runs
QAOA on what fits the qubit caps (``solvers.hybrid``), and writes one `quantum_jobs` row per
circuit run. The result always carries the classical plan's cost next to the final one.
The route itself is left as it is: the job is the comparison, not a new plan for it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import Database, after_commit
from core.errors import NotFound, QuantumTimeout, ValidationFailed
from core.pagination import CursorRequest, Page, PageRequest
from core.polling import poll
from core.principal import Principal
from core.settings import Settings
from models import Location, OptimizationJob, QuantumJob
from models.enums import JobStatus, SolverType
from models.geo import GeoPoint
from models.quantum_inputs import QuantumBackendName, QuantumMode, QuantumOptimizeRequest
from models.routing_inputs import OptimizeRequest, default_time_limit
from services.audit import record_audit
from services.events import emit
from services.listing import paginate
from services.roads.travel import choose_travel, provider_for
from services.routing import leases
from services.routing import problem as canon
from services.routing.optimization import claim_job, job_input_for_route
from services.routing.routes import get_route
from solvers.hybrid import HybridParams, HybridReport, HybridSolver, QuantumCapError, quantum_fits
from solvers.matrix import MatrixProvider
from solvers.quantum.qaoa import QaoaParams

log = logging.getLogger(__name__)

QUEUE = "quantum"
ACTOR = "optimize_quantum"
FINAL = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.CANCELLED}
QUANTUM_SOLVERS = (SolverType.QUANTUM, SolverType.HYBRID)


class QuantumQueue(Protocol):
    async def enqueue_quantum(self, job_id: UUID, workspace_id: UUID) -> None: ...


class BrokerQuantumQueue:
    """Sends to the `quantum` queue by actor name, so that the API needs no worker import."""

    async def enqueue_quantum(self, job_id: UUID, workspace_id: UUID) -> None:
        import dramatiq

        broker = dramatiq.get_broker()
        broker.declare_queue(QUEUE)
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=QUEUE,
            actor_name=ACTOR,
            args=(str(job_id), str(workspace_id)),
            kwargs={},
            options={},
        )
        await asyncio.to_thread(broker.enqueue, message)


@dataclass(frozen=True, slots=True)
class JobView:
    job: OptimizationJob
    runs: list[QuantumJob]


def _hybrid_params(options: dict[str, Any]) -> HybridParams:
    return HybridParams(
        budget_s=float(options["timeout_s"]),
        allow_hybrid=bool(options["allow_hybrid"]),
        qaoa=QaoaParams(
            reps=options.get("qaoa_layers"),
            optimizer=options["optimizer"],
            max_iterations=int(options["max_iterations"]),
            shots=int(options["shots"]),
            seed=int(options["seed"]),
        ),
    )


def _cap_error(field: str, num_stops: int) -> ValidationFailed:
    cap = HybridParams().tsp_cap
    message = (
        f"quantum mode solves the whole route as one QUBO of stops² qubits: {num_stops} "
        f"stops need {num_stops * num_stops} qubits, the cap is {cap} "
        f"(at most {int(cap**0.5)} stops); use mode 'hybrid' or set allow_hybrid"
    )
    error = ValidationFailed.field(field, message)
    error.details.update({"qubits": num_stops * num_stops, "cap": cap, "max_stops": int(cap**0.5)})
    return error


async def _problem_from_locations(
    session: AsyncSession, actor: Principal, data: QuantumOptimizeRequest
) -> dict[str, Any]:
    assert data.location_ids is not None
    assert data.depot_location_id is not None
    wanted = [data.depot_location_id, *data.location_ids]
    rows = {
        row.id: row
        for row in (await session.exec(select(Location).where(col(Location.id).in_(wanted)))).all()
        if row.deleted_at is None
    }
    for location_id in wanted:
        if location_id not in rows:
            raise NotFound.resource("Location", location_id)
    depot = GeoPoint.of(rows[data.depot_location_id].geo)
    assert depot is not None
    origin = datetime.now(UTC).replace(microsecond=0)
    stops = []
    for location_id in data.location_ids:
        point = GeoPoint.of(rows[location_id].geo)
        assert point is not None
        stops.append(
            canon.StopSpec(
                location_id=str(location_id),
                lng=point.lng,
                lat=point.lat,
                load_kg=0.0,
                service_s=0,
                window=None,
            )
        )
    vehicle = canon.VehicleSpec(
        id="vehicle",
        vehicle_type="van",
        capacity_kg=None,
        capacity_m3=None,
        max_range_km=None,
        shift=(0, canon.MAX_TIME),
    )
    depot_spec = (str(data.depot_location_id), depot.lng, depot.lat)
    travel = await choose_travel(
        session,
        actor.workspace_id,
        [depot_spec, *((s.location_id, s.lng, s.lat) for s in stops)],
        [vehicle.vehicle_type],
    )
    problem = canon.canonical_problem(
        mode=data.mode.value,
        optimize_for="distance",
        planned_start=origin,
        depot=depot_spec,
        vehicles=[vehicle],
        stops=stops,
        travel=travel,
    )
    return {
        "problem": problem,
        "route_stop_ids": [],
        "time_limit_s": default_time_limit(len(stops)),
        "seed": data.seed,
    }


async def request_quantum_job(
    *,
    session: AsyncSession,
    actor: Principal,
    data: QuantumOptimizeRequest,
    settings: Settings,
    queue: QuantumQueue,
) -> OptimizationJob:
    """Check the request against the caps and the configured backends, store a `pending`
    job and hand it to the `quantum` queue after commit."""
    if data.route_id is not None:
        route = await get_route(session=session, actor=actor, route_id=data.route_id)
        job_input = await job_input_for_route(session, route, OptimizeRequest(seed=data.seed))
        job_input["problem"]["mode"] = data.mode.value
        field = "route_id"
    else:
        route = None
        job_input = await _problem_from_locations(session, actor, data)
        field = "location_ids"
    num_stops = len(job_input["problem"]["stops"])
    if data.mode is QuantumMode.QUANTUM and not data.allow_hybrid and not quantum_fits(num_stops):
        raise _cap_error(field, num_stops)
    if data.backend is QuantumBackendName.IBM and not (
        settings.qiskit_ibm_token and settings.qiskit_ibm_instance
    ):
        raise ValidationFailed.field(
            "backend", "IBM Quantum is not configured (QISKIT_IBM_TOKEN, QISKIT_IBM_INSTANCE)"
        )
    job_input["quantum"] = data.model_dump(
        mode="json", exclude={"route_id", "location_ids", "depot_location_id"}
    )
    job = OptimizationJob(
        route_id=route.id if route is not None else None,
        workspace_id=actor.workspace_id,
        solver_type=SolverType(data.mode.value),
        input_hash=canon.input_hash(job_input["problem"]),
        input_data=job_input,
        requested_by=actor.user_id,
    )
    session.add(job)
    await session.flush()
    workspace_id = actor.workspace_id

    async def hand_over() -> None:
        await queue.enqueue_quantum(job.id, workspace_id)

    after_commit(session, hand_over)
    await record_audit(
        session=session,
        actor=actor,
        action="quantum.optimize_requested",
        resource_type="optimization_job",
        resource_id=job.id,
        changes={
            "route_id": str(route.id) if route is not None else None,
            "mode": data.mode.value,
            "backend": data.backend.value,
            "stops": num_stops,
        },
    )
    return job


def make_sampler(options: dict[str, Any], settings: Settings) -> Any:
    """The sampling backend a job asked for."""
    from solvers.quantum import (
        AerNoiseModelBackend,
        AerStatevectorBackend,
        IbmRuntimeBackend,
        IbmRuntimeConfig,
    )

    name = QuantumBackendName(options.get("backend", QuantumBackendName.AER))
    device = options.get("device")
    if name is QuantumBackendName.AER:
        return AerStatevectorBackend("CPU")
    if name is QuantumBackendName.AER_GPU:
        return AerStatevectorBackend("GPU")
    if name is QuantumBackendName.AER_NOISE:
        return AerNoiseModelBackend(device or "FakeGuadalupeV2")
    if name is QuantumBackendName.IBM_LOCAL:
        return IbmRuntimeBackend(IbmRuntimeConfig(local=True, device=device))
    token = settings.qiskit_ibm_token
    return IbmRuntimeBackend(
        IbmRuntimeConfig(
            token=token.get_secret_value() if token else None,
            instance=settings.qiskit_ibm_instance,
            channel=settings.qiskit_ibm_channel,
            device=device,
        )
    )


def _solve(
    job_input: dict[str, Any], settings: Settings, provider: MatrixProvider
) -> tuple[dict[str, Any], HybridReport]:
    from solvers.selector import SelectorParams, solve_problem

    options = job_input["quantum"]
    problem, unreachable = canon.priced_problem(job_input["problem"], provider)
    reports: list[HybridReport] = []
    solver = HybridSolver(
        _hybrid_params(options), sampler=make_sampler(options, settings), on_report=reports.append
    )
    solution = solve_problem(
        problem,
        time_limit=float(job_input["time_limit_s"]),
        seed=int(job_input["seed"]),
        mode=options["mode"],
        params=SelectorParams(quantum=solver),
    )
    result = canon.canonical_result(problem, solution, unreachable)
    result["travel"] = job_input["problem"].get("travel")
    if not reports:  # the improver failed before reporting: the selector kept the classical plan
        reports.append(
            HybridReport(
                mode=options["mode"],
                baseline_cost=solution.cost,
                baseline_solver=solution.solver,
                final_cost=solution.cost,
                fallback_reason=solution.fallback_reason,
            )
        )
    return result, reports[0]


def comparison(report: HybridReport) -> dict[str, Any]:
    """The quantum answer against the classical one."""
    saved = report.baseline_cost - report.final_cost
    return {
        "classical_cost": report.baseline_cost,
        "classical_solver": report.baseline_solver,
        "final_cost": report.final_cost,
        "improvement": saved,
        "improvement_pct": 100 * saved / report.baseline_cost if report.baseline_cost else 0.0,
        "quantum_plan": report.quantum_plan,
        "ran_as": report.ran_as or report.mode,
        "subproblems_run": len(report.runs),
        "subproblems_improved": report.improved,
        "timed_out": report.timed_out,
        "fell_back": report.fallback_reason is not None,
        "fallback_reason": report.fallback_reason,
    }


def circuit_figures(report: HybridReport) -> dict[str, Any]:
    """What the circuits of one job measured, for the analytics read models: the largest
    circuit, the best energy, and the worst gap between a circuit's answer and the exact
    optimum of its subproblem (absolute cost units; None when no circuit answered)."""
    results = [run.result for run in report.runs if run.result is not None]
    gaps = [
        abs(float(r.raw_result["cost"]) - float(r.raw_result["exact_optimum"]["cost"]))
        for r in results
        if "exact_optimum" in r.raw_result and r.raw_result.get("cost") is not None
    ]
    energies = [r.result_energy for r in results if r.result_energy is not None]
    return {
        "qubits": max((r.qubits_used for r in results), default=None),
        "depth": max((r.circuit_depth for r in results), default=None),
        "energy": min(energies, default=None),
        "gap_to_exact": max(gaps, default=None),
        "timed_out": report.timed_out,
        "ran_as": report.ran_as or report.mode,
    }


def _run_rows(job: OptimizationJob, report: HybridReport) -> list[QuantumJob]:
    now = datetime.now(UTC)
    rows = []
    for index, run in enumerate(report.runs):
        context = {"index": index, **run.describe()}
        status = {
            "completed": JobStatus.COMPLETED,
            "timeout": JobStatus.TIMEOUT,
            "failed": JobStatus.FAILED,
        }[run.status]
        if run.result is not None:
            record = run.result.to_record()
            record["raw_result"] = {**record["raw_result"], "subproblem": context}
        else:
            record = {
                "qubits_used": run.qubits,
                "circuit_depth": 0,
                "raw_result": {"subproblem": context, "error": run.error},
            }
        rows.append(
            QuantumJob(
                workspace_id=job.workspace_id,
                optimization_job_id=job.id,
                status=status,
                completed_at=now,
                **record,
            )
        )
    return rows


async def run_quantum_job(
    *, db: Database, settings: Settings, job_id: UUID, workspace_id: UUID
) -> JobStatus | None:
    """The worker's side; a repeated delivery finds the job claimed and does nothing."""
    claim = await claim_job(
        db=db, job_id=job_id, workspace_id=workspace_id, lease_s=settings.job_lease_s
    )
    if claim is None:
        return None
    async with leases.keep_lease(db, claim, settings.job_lease_s):
        return await _solve_and_save(db=db, settings=settings, claim=claim)


async def _solve_and_save(
    *, db: Database, settings: Settings, claim: leases.Claim
) -> JobStatus | None:
    job_id, workspace_id = claim.job_id, claim.workspace_id
    job_input, requester = claim.input, claim.requested_by
    options = job_input["quantum"]
    started = time.monotonic()
    error: str | None = None
    result: dict[str, Any] | None = None
    report: HybridReport | None = None
    async with db.session(workspace_id) as session:
        provider = await provider_for(session, job_input["problem"].get("travel"))
    try:
        result, report = await asyncio.to_thread(_solve, job_input, settings, provider)
    except QuantumCapError as exc:
        error = f"VALIDATION_ERROR: {exc}"
    except Exception as exc:
        log.exception("quantum job failed", extra={"job_id": str(job_id)})
        error = f"{type(exc).__name__}: {exc}"
    elapsed = time.monotonic() - started
    async with db.session(workspace_id) as session:
        job = (
            await session.exec(
                select(OptimizationJob).where(OptimizationJob.id == job_id).with_for_update()
            )
        ).first()
        if job is None or job.status != JobStatus.RUNNING or job.attempts != claim.attempt:
            return job.status if job else None
        job.lease_expires_at = None
        actor = Principal(requester or UUID(int=0), workspace_id, None, "system")
        job.execution_time_ms = round(elapsed * 1000)
        job.completed_at = datetime.now(UTC)
        event = "quantum.job_failed"
        if result is None or report is None:
            job.status = JobStatus.FAILED
            job.error_message = error
        else:
            result["quantum"] = report.summary()
            result["comparison"] = comparison(report)
            job.result_data = result
            job.solution_quality_score = canon.optimization_score(result)
            if report.timed_out and not options["allow_fallback"]:
                job.status = JobStatus.TIMEOUT
                job.error_message = f"QUANTUM_TIMEOUT: {report.fallback_reason}"
            else:
                job.status = JobStatus.COMPLETED
                event = "quantum.job_completed"
            for row in _run_rows(job, report):
                session.add(row)
        session.add(job)
        data = {
            "job_id": str(job.id),
            "status": job.status.value,
            "mode": options["mode"],
            "backend": options["backend"],
            "error": job.error_message,
        }
        if report is not None:
            data.update(
                {
                    "circuits": len(report.runs),
                    "improved": report.improved,
                    "classical_cost": report.baseline_cost,
                    "final_cost": report.final_cost,
                    "fell_back": report.fallback_reason is not None,
                    **circuit_figures(report),
                }
            )
        data["time_ms"] = job.execution_time_ms
        emit(
            session=session,
            actor=actor,
            event_type=event,
            entity_type="optimization_job",
            entity_id=job.id,
            data=data,
        )
        await record_audit(
            session=session,
            actor=actor,
            action=event,
            resource_type="optimization_job",
            resource_id=job.id,
            changes={"status": job.status.value},
        )
        return job.status


async def get_quantum_job(*, session: AsyncSession, actor: Principal, job_id: UUID) -> JobView:
    """A quantum or hybrid job with its circuit runs (another workspace's id: 404)."""
    job = await session.get(OptimizationJob, job_id)
    if job is None or job.solver_type not in QUANTUM_SOLVERS:
        raise NotFound.resource("Job", job_id)
    runs = (
        await session.exec(
            select(QuantumJob)
            .where(QuantumJob.optimization_job_id == job.id)
            .order_by(col(QuantumJob.created_at), col(QuantumJob.id))
        )
    ).all()
    return JobView(
        job, sorted(runs, key=lambda r: (r.raw_result or {}).get("subproblem", {}).get("index", 0))
    )


def raise_if_quantum_timeout(job: OptimizationJob) -> None:
    """A client that disabled fallback gets QUANTUM_TIMEOUT for a job that ran out of time."""
    if job.status == JobStatus.TIMEOUT:
        raise QuantumTimeout(
            job.error_message or "The quantum time budget ran out",
            details={"job_id": str(job.id), "status": job.status.value},
        )


async def runs_of(*, session: AsyncSession, job_ids: list[UUID]) -> dict[UUID, list[QuantumJob]]:
    """Circuit runs of several jobs in one query, in run order."""
    out: dict[UUID, list[QuantumJob]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return out
    rows = (
        await session.exec(
            select(QuantumJob).where(col(QuantumJob.optimization_job_id).in_(job_ids))
        )
    ).all()
    for row in rows:
        out[row.optimization_job_id].append(row)
    for runs in out.values():
        runs.sort(key=_run_index)
    return out


def _run_index(row: QuantumJob) -> int:
    return int((row.raw_result or {}).get("subproblem", {}).get("index", 0))


async def list_quantum_jobs(
    *, session: AsyncSession, actor: Principal, request: PageRequest | CursorRequest
) -> Page[OptimizationJob]:
    """Quantum and hybrid jobs of the workspace, most recent first."""
    conditions: list[Any] = [
        col(OptimizationJob.workspace_id) == actor.workspace_id,
        col(OptimizationJob.solver_type).in_(QUANTUM_SOLVERS),
    ]
    return await paginate(session, OptimizationJob, conditions, request, newest_first=True)


async def wait_for_quantum_job(
    *, db: Database, actor: Principal, job_id: UUID, timeout_s: float
) -> JobView:
    """The job once final, or as it is when `timeout_s` runs out."""

    async def read() -> JobView:
        async with db.session(actor.workspace_id) as session:
            return await get_quantum_job(session=session, actor=actor, job_id=job_id)

    return await poll(
        read,
        lambda view: view.job.status in FINAL,
        timeout_s=timeout_s,
        first_pause_s=0.05,
        max_pause_s=0.2,
    )
