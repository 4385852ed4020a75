"""Routing queries, mutations, and the subscriptions to optimization progress and route
changes."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.payloads import (
    Done,
    DoneResult,
    FleetPlanResult,
    OptimizationJobResult,
    OptimizeResult,
    ReplanResult,
    RouteResult,
)
from schema.permissions import Operation, ensure_allowed, requires
from schema.requests import check_wait
from schema.types.pagination import Connection, cursor
from schema.types.routing import (
    FleetPlanInput,
    FleetPlanPayload,
    JobProgress,
    JobStatusEnum,
    OptimizationJob,
    OptimizeInput,
    OptimizePayload,
    ReplanPayload,
    Route,
    RouteChange,
    RouteFilterInput,
    RouteInput,
    RoutePatch,
    StopChange,
    Travel,
    UnassignedStop,
    optimize_request,
    progress_channel,
)
from services.notifications.live import ROUTE_CHANGE_TYPES
from services.routing import optimization, planning, routes
from services.routing.optimization import FINAL_JOB
from services.tracking.feed import channel as live_channel

Ctx = Info[Context, None]


@strawberry.type
class RoutingQuery:
    @strawberry.field(extensions=requires(Operation.ROUTE_LIST))
    async def routes(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        filter: RouteFilterInput | None = None,
    ) -> Connection[Route]:
        actor = await info.context.principal()
        f = filter or RouteFilterInput()
        async with info.context.db.session(actor.workspace_id) as session:
            page = await routes.list_routes(
                session=session,
                actor=actor,
                filters=routes.RouteFilter(status=f.status, vehicle_id=f.vehicle_id),
                request=cursor(info, first, after),
            )
        return Connection.of(page, Route.of)

    @strawberry.field(extensions=requires(Operation.ROUTE_READ))
    async def route(self, info: Ctx, id: UUID) -> Route:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Route.of(await routes.get_route(session=session, actor=actor, route_id=id))

    @strawberry.field(extensions=requires(Operation.ROUTE_READ))
    async def optimization_job(self, info: Ctx, id: UUID) -> OptimizationJob:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            job = await optimization.get_job(session=session, actor=actor, job_id=id)
        return OptimizationJob.of(job)


@strawberry.type
class RoutingMutation:
    @strawberry.mutation(extensions=requires(Operation.ROUTE_CREATE))
    async def create_route(self, info: Ctx, input: RouteInput) -> RouteResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            return Route.of(await routes.create_route(session=session, actor=actor, data=data))

    @strawberry.mutation(extensions=requires(Operation.ROUTE_UPDATE))
    async def update_route(self, info: Ctx, id: UUID, input: RoutePatch) -> RouteResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            row = await routes.update_route(session=session, actor=actor, route_id=id, data=data)
            return Route.of(row)

    @strawberry.mutation(extensions=requires(Operation.ROUTE_DELETE))
    async def delete_route(self, info: Ctx, id: UUID) -> DoneResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            await routes.delete_route(session=session, actor=actor, route_id=id)
        return Done()

    @strawberry.mutation(
        extensions=requires(Operation.ROUTE_OPTIMIZE),
        description="Start optimizing; follow `optimizationProgress(jobId)` until it is done, "
        "or give `wait` (seconds, at most 60) to be answered with the optimized route when it "
        "is done by then (OptimizationFailedError when the solver and its fallback failed).",
    )
    async def optimize_route(
        self, info: Ctx, id: UUID, input: OptimizeInput | None = None, wait: float = 0
    ) -> OptimizeResult:
        ctx = info.context
        actor = await ctx.principal()
        data = optimize_request(input)
        check_wait(wait)
        state = ctx.request.app.state
        async with ctx.db.session(actor.workspace_id, generic_plans=True) as session:
            ticket = await optimization.request_optimization(
                session=session,
                actor=actor,
                route_id=id,
                data=data,
                cache=state.cache,
                queue=state.jobs,
            )
            payload = OptimizePayload(
                job=OptimizationJob.of(ticket.job), route=Route.of(ticket.route)
            )
        if ticket.cached or wait <= 0:
            return payload
        job = await optimization.wait_for_job(
            db=ctx.db, actor=actor, job_id=ticket.job.id, timeout_s=wait
        )
        optimization.raise_if_failed(job)
        async with ctx.db.session(actor.workspace_id) as session:
            route = await routes.get_route(session=session, actor=actor, route_id=id)
            return OptimizePayload(job=OptimizationJob.of(job), route=Route.of(route))

    @strawberry.mutation(extensions=requires(Operation.ROUTE_OPTIMIZE))
    async def cancel_optimization(self, info: Ctx, job_id: UUID) -> OptimizationJobResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            job = await optimization.cancel_job(session=session, actor=actor, job_id=job_id)
            return OptimizationJob.of(job)

    @strawberry.mutation(extensions=requires(Operation.ROUTE_OPTIMIZE))
    async def reoptimize_route(self, info: Ctx, id: UUID) -> ReplanResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            replan = await planning.reoptimize_route(session=session, actor=actor, route_id=id)
            return ReplanPayload(
                route=Route.of(replan.route),
                changes=[
                    StopChange(
                        route_stop_id=c.route_stop_id,
                        location_id=c.location_id,
                        old_order=c.old_order,
                        new_order=c.new_order,
                        old_eta=c.old_eta,
                        new_eta=c.new_eta,
                    )
                    for c in replan.changes
                ],
                travel=Travel.of(replan.result.get("travel")),
            )

    @strawberry.mutation(extensions=requires(Operation.ROUTE_CREATE))
    async def plan_fleet(self, info: Ctx, input: FleetPlanInput) -> FleetPlanResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            plan = await planning.plan_fleet(session=session, actor=actor, data=data)
            return FleetPlanPayload(
                routes=[Route.of(r) for r in plan.routes],
                unassigned=[
                    UnassignedStop(
                        location_id=UUID(u["location_id"]), stop=u["stop"], reason=u["reason"]
                    )
                    for u in plan.unassigned
                ],
                travel=Travel.of(plan.result.get("travel")),
            )

    @strawberry.mutation(extensions=requires(Operation.ROUTE_DEPLOY))
    async def deploy_route(self, info: Ctx, id: UUID) -> RouteResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Route.of(await routes.deploy_route(session=session, actor=actor, route_id=id))

    @strawberry.mutation(extensions=requires(Operation.ROUTE_COMPLETE))
    async def complete_route(self, info: Ctx, id: UUID) -> RouteResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Route.of(await routes.complete_route(session=session, actor=actor, route_id=id))

    @strawberry.mutation(extensions=requires(Operation.ROUTE_UPDATE))
    async def cancel_route(self, info: Ctx, id: UUID) -> RouteResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Route.of(await routes.cancel_route(session=session, actor=actor, route_id=id))


def _progress(job_id: UUID, data: dict[str, Any]) -> JobProgress:
    return JobProgress(
        job_id=job_id,
        status=JobStatusEnum(data["status"]),
        best_cost=data.get("best_cost"),
        elapsed_s=data.get("elapsed_s"),
    )


@strawberry.type
class RoutingSubscription:
    @strawberry.subscription(
        description="The job's state now, then each progress report until it finishes."
    )
    async def optimization_progress(
        self, info: Ctx, job_id: UUID
    ) -> AsyncGenerator[JobProgress, None]:
        ctx = info.context
        actor = await ctx.principal()
        ensure_allowed(actor, Operation.ROUTE_READ, "Your role may not follow optimization jobs")
        broadcast = ctx.request.app.state.broadcast
        # Subscribe first, then read the current state, so that no report falls between.
        async with broadcast.subscribe(progress_channel(job_id)) as subscriber:
            async with ctx.db.session(actor.workspace_id) as session:
                job = await optimization.get_job(session=session, actor=actor, job_id=job_id)
            yield _progress(job_id, {"status": job.status.value, **(job.progress or {})})
            if job.status in FINAL_JOB:
                return
            async for event in subscriber:
                data = json.loads(event.message)
                yield _progress(job_id, data)
                if JobStatusEnum(data["status"]) in FINAL_JOB:
                    return

    @strawberry.subscription(
        description="Routes of the workspace created, edited, optimized, deployed, completed,"
        " cancelled or deleted, as the changes commit (all of them, or one route's)."
    )
    async def route_changed(
        self, info: Ctx, route_id: UUID | None = None
    ) -> AsyncGenerator[RouteChange, None]:
        ctx = info.context
        actor = await ctx.principal()
        ensure_allowed(actor, Operation.ROUTE_READ, "Your role may not follow routes")
        wanted = str(route_id) if route_id else None
        hub = ctx.request.app.state.hub
        async with hub.subscribe(live_channel(actor.workspace_id)) as subscription:
            async for message in subscription:
                change = ROUTE_CHANGE_TYPES.get(message.get("type", ""))
                if change is None or (wanted and message["data"].get("route_id") != wanted):
                    continue
                yield RouteChange.of(change, message)
