"""Incidents, dispatch and the experience API over GraphQL, and the `incidentUpdated`
subscription scoped to the subscriber's workspace."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from schema.context import Context
from schema.errors import invalid
from schema.payloads import DispatchResult, ExperienceResult, IncidentResult
from schema.permissions import Operation, ensure_allowed, requires
from schema.types.operations import (
    DispatchAlternative,
    DispatchedUnit,
    DispatchInput,
    DispatchResultType,
    Experience,
    Incident,
    IncidentFilterInput,
    IncidentInput,
    IncidentPatch,
    dispatch_request,
)
from schema.types.operations import IncidentUpdate as IncidentUpdateMessage
from schema.types.pagination import Connection, cursor
from services.operations import dispatch, experience, incidents, notify

Ctx = Info[Context, None]


def _experience(view: experience.Experience) -> Experience:
    return Experience(
        mode=view.mode,
        label=view.config["label"],
        description=view.config["description"],
        active=view.active,
        config=JSON(view.config),
        overridden=view.overridden,
    )


def _dispatched(result: dispatch.DispatchResult) -> DispatchResultType:
    return DispatchResultType(
        incident=Incident.of(result.detail.incident),
        requested=result.requested,
        dispatched=len(result.chosen),
        shortfall=max(0, result.shortfall),
        message=result.message,
        units=[
            DispatchedUnit(
                vehicle_id=u.vehicle_id,
                vehicle_type=u.vehicle_type,
                route_id=u.route_id,
                eta=u.eta,
                travel_s=u.travel_s,
                distance_m=u.distance_m,
            )
            for u in result.chosen
        ],
        sla_state=result.sla_state,
        alternatives=[
            DispatchAlternative(
                vehicle_id=a.vehicle_id,
                vehicle_type=a.vehicle_type,
                reason=a.reason,
                travel_s=a.travel_s,
                distance_m=a.distance_m,
            )
            for a in result.alternatives
        ],
    )


@strawberry.type
class OperationsQuery:
    @strawberry.field(extensions=requires(Operation.INCIDENT_LIST))
    async def incidents(
        self,
        info: Ctx,
        first: int = 20,
        after: str | None = None,
        filter: IncidentFilterInput | None = None,
    ) -> Connection[Incident]:
        actor = await info.context.principal()
        f = filter or IncidentFilterInput()
        filters = incidents.IncidentFilter(
            status=f.status,
            severity=f.severity,
            created_from=f.created_from,
            created_to=f.created_to,
        )
        async with info.context.db.session(actor.workspace_id) as session:
            page = await incidents.list_incidents(
                session=session, actor=actor, filters=filters, request=cursor(info, first, after)
            )
        return Connection.of(page, Incident.of)

    @strawberry.field(extensions=requires(Operation.INCIDENT_READ))
    async def incident(self, info: Ctx, id: UUID) -> Incident:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            return Incident.of(
                await incidents.get_incident(session=session, actor=actor, incident_id=id)
            )

    @strawberry.field(extensions=requires(Operation.EXPERIENCE_READ))
    async def experience_modes(self, info: Ctx) -> list[Experience]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            views = await experience.list_modes(session=session, actor=actor)
        return [_experience(v) for v in views]

    @strawberry.field(extensions=requires(Operation.EXPERIENCE_READ))
    async def experience(self, info: Ctx, mode: str) -> Experience:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            view = await experience.get_experience(session=session, actor=actor, mode=mode)
        return _experience(view)


@strawberry.type
class OperationsMutation:
    @strawberry.mutation(extensions=requires(Operation.INCIDENT_CREATE))
    async def create_incident(self, info: Ctx, input: IncidentInput) -> IncidentResult:
        ctx = info.context
        actor = await ctx.principal()
        data = input.to_request()
        state = ctx.request.app.state
        async with ctx.db.session(actor.workspace_id) as session:
            row = await dispatch.report_incident(
                session=session,
                actor=actor,
                data=data,
                max_position_age_s=ctx.settings.dispatch_max_position_age_s,
                hub=state.hub,
                clock=state.sla_clock,
            )
            return Incident.of(row)

    @strawberry.mutation(extensions=requires(Operation.INCIDENT_UPDATE))
    async def update_incident(self, info: Ctx, id: UUID, input: IncidentPatch) -> IncidentResult:
        ctx = info.context
        actor = await ctx.principal()
        data = input.to_request()
        async with ctx.db.session(actor.workspace_id) as session:
            detail = await incidents.update_incident(
                session=session,
                actor=actor,
                incident_id=id,
                data=data,
                hub=ctx.request.app.state.hub,
            )
            return Incident.of(detail.incident)

    @strawberry.mutation(extensions=requires(Operation.INCIDENT_DISPATCH))
    async def dispatch_incident(
        self, info: Ctx, id: UUID, input: DispatchInput | None = None
    ) -> DispatchResult:
        ctx = info.context
        actor = await ctx.principal()
        data = dispatch_request(input)
        async with ctx.db.session(actor.workspace_id) as session:
            result = await dispatch.dispatch_incident(
                session=session,
                actor=actor,
                incident_id=id,
                data=data,
                max_position_age_s=ctx.settings.dispatch_max_position_age_s,
                hub=ctx.request.app.state.hub,
            )
            return _dispatched(result)

    @strawberry.mutation(
        extensions=requires(Operation.EXPERIENCE_UPDATE),
        description="Override keys of a mode's configuration for this workspace (null: reset).",
    )
    async def update_experience(self, info: Ctx, mode: str, overrides: JSON) -> ExperienceResult:
        actor = await info.context.principal()
        if not isinstance(overrides, dict):
            raise invalid("overrides", "expected an object")
        async with info.context.db.session(actor.workspace_id) as session:
            view = await experience.update_experience(
                session=session, actor=actor, mode=mode, overrides=overrides
            )
        return _experience(view)


@strawberry.type
class OperationsSubscription:
    @strawberry.subscription(
        description="Every change of the workspace's incidents: created, dispatched, unit on"
        " scene, SLA state, resolved, closed."
    )
    async def incident_updated(
        self, info: Ctx, incident_id: UUID | None = None
    ) -> AsyncGenerator[IncidentUpdateMessage, None]:
        ctx = info.context
        actor = await ctx.principal()
        ensure_allowed(actor, Operation.INCIDENT_READ, "Your role may not follow incidents")
        wanted = str(incident_id) if incident_id else None
        hub = ctx.request.app.state.hub
        async with hub.subscribe(notify.channel(actor.workspace_id)) as subscription:
            async for message in subscription:
                if wanted is None or message.get("incident_id") == wanted:
                    yield IncidentUpdateMessage.of(message)
