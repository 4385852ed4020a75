"""Quantum queries and mutations: optimize, follow a job, simulate, health."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from schema.context import Context
from schema.payloads import QuantumJobResult, QuantumSimulationResult
from schema.permissions import Operation, requires
from schema.requests import check_wait
from schema.types.pagination import Connection, cursor
from schema.types.quantum import (
    QuantumJob,
    QuantumOptimizeInput,
    QuantumSimulateInput,
    QuantumSimulation,
)
from services.quantum import jobs, simulate
from services.quantum.health import quantum_health

Ctx = Info[Context, None]


@strawberry.type
class QuantumQuery:
    @strawberry.field(
        extensions=requires(Operation.QUANTUM_JOB_READ),
        description="A quantum or hybrid job with its circuit runs and the classical "
        "comparison; QUANTUM_TIMEOUT when its budget ran out and fallback was disabled.",
    )
    async def quantum_job(self, info: Ctx, id: UUID) -> QuantumJob:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            view = await jobs.get_quantum_job(session=session, actor=actor, job_id=id)
        jobs.raise_if_quantum_timeout(view.job)
        return QuantumJob.of(view.job, view.runs)

    @strawberry.field(extensions=requires(Operation.QUANTUM_JOB_LIST))
    async def quantum_jobs(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[QuantumJob]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            page = await jobs.list_quantum_jobs(
                session=session, actor=actor, request=cursor(info, first, after)
            )
            runs = await jobs.runs_of(session=session, job_ids=[j.id for j in page.items])
        return Connection.of(page, lambda row: QuantumJob.of(row, runs.get(row.id)))

    @strawberry.field(
        extensions=requires(Operation.QUANTUM_HEALTH),
        description="Aer and its version, GPU, qubit caps, IBM Quantum configured/reachable.",
    )
    async def quantum_health(self, info: Ctx) -> JSON:
        await info.context.principal()
        return JSON(await quantum_health(info.context.settings))


@strawberry.type
class QuantumMutation:
    @strawberry.mutation(
        extensions=requires(Operation.QUANTUM_OPTIMIZE),
        description="Queue a quantum (or hybrid) optimization; poll `quantumJob(id)`, or "
        "give `wait` (seconds, at most 60) to be answered with the finished job when it is "
        "done by then (QuantumTimeoutError when its budget ran out and fallback was disabled).",
    )
    async def quantum_optimize(
        self, info: Ctx, input: QuantumOptimizeInput, wait: float = 0
    ) -> QuantumJobResult:
        ctx = info.context
        actor = await ctx.principal()
        data = input.to_request()
        check_wait(wait)
        state = ctx.request.app.state
        queue = getattr(state, "quantum_jobs", None) or jobs.BrokerQuantumQueue()
        async with ctx.db.session(actor.workspace_id) as session:
            job = await jobs.request_quantum_job(
                session=session, actor=actor, data=data, settings=ctx.settings, queue=queue
            )
            queued = QuantumJob.of(job)
        if wait <= 0:
            return queued
        view = await jobs.wait_for_quantum_job(
            db=ctx.db, actor=actor, job_id=job.id, timeout_s=wait
        )
        if view.job.status not in jobs.FINAL:
            return queued
        jobs.raise_if_quantum_timeout(view.job)
        return QuantumJob.of(view.job, view.runs)

    @strawberry.mutation(
        extensions=requires(Operation.QUANTUM_SIMULATE),
        description="QAOA on a small weighted graph (maxcut or tsp), answered at once.",
    )
    async def quantum_simulate(
        self, info: Ctx, input: QuantumSimulateInput
    ) -> QuantumSimulationResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            job, view = await simulate.simulate(session=session, actor=actor, data=data)
            return QuantumSimulation(job_id=job.id, result=JSON(view))
