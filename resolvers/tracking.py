"""Live tracking over GraphQL: report a position, list deviations, and the live map's
subscriptions, each scoped to the subscriber's workspace."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any
from uuid import UUID

import strawberry
from strawberry.types import Info

from core.errors import Forbidden
from core.validation import parse_model
from models.fleet_inputs import BoundingBox
from models.permissions import Operation, is_allowed
from schema.context import Context
from schema.permissions import requires
from schema.types.fleet import BoundingBoxInput
from schema.types.identity import input_dict
from schema.types.tracking import (
    PositionAck,
    PositionInput,
    RouteDeviation,
    RouteDeviationAlert,
    VehicleMoved,
)
from services.tracking import feed, ingest, live

Ctx = Info[Context, None]


@strawberry.type
class TrackingQuery:
    @strawberry.field(extensions=requires(Operation.TRACKING_DEVIATIONS))
    async def route_deviations(self, info: Ctx) -> list[RouteDeviation]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            rows = await live.active_deviations(session=session, actor=actor)
            return [RouteDeviation.of(row) for row in rows]


@strawberry.type
class TrackingMutation:
    @strawberry.mutation(extensions=requires(Operation.TRACKING_UPDATE))
    async def report_position(self, info: Ctx, input: PositionInput) -> PositionAck:
        ctx = info.context
        actor = await ctx.principal()
        report = {
            k: (v.isoformat() if hasattr(v, "isoformat") else str(v) if isinstance(v, UUID) else v)
            for k, v in input_dict(input).items()
            if v is not None
        }
        writer = ctx.request.app.state.writer
        result = await ingest.ingest(writer=writer, actor=actor, reports=[report])
        ingest.raise_for_single(result)
        _, position, new = result.accepted[0]
        return PositionAck(
            vehicle_id=position.vehicle_id, recorded_at=position.recorded_at, duplicate=not new
        )


async def _stream(info: Ctx, kind: str) -> AsyncGenerator[dict[str, Any], None]:
    ctx = info.context
    actor = await ctx.principal()
    if not is_allowed(actor.role, Operation.TRACKING_STREAM):
        raise Forbidden("Your role may not watch the live map")
    hub = ctx.request.app.state.hub
    async with hub.subscribe(feed.channel(actor.workspace_id)) as subscription:
        async for message in subscription:
            if message.get("type") == kind:
                yield message


@strawberry.type
class TrackingSubscription:
    @strawberry.subscription(description="Positions of the workspace's vehicles as they arrive.")
    async def vehicle_moved(
        self,
        info: Ctx,
        vehicle_ids: list[UUID] | None = None,
        bbox: BoundingBoxInput | None = None,
    ) -> AsyncGenerator[VehicleMoved, None]:
        wanted = {str(v) for v in vehicle_ids} if vehicle_ids else None
        box = parse_model(BoundingBox, strawberry.asdict(bbox)) if bbox else None
        async for message in _stream(info, "vehicle_moved"):
            lng, lat = message["position"]
            if wanted is not None and message["vehicle_id"] not in wanted:
                continue
            if box is not None and not (
                box.min_lng <= lng <= box.max_lng and box.min_lat <= lat <= box.max_lat
            ):
                continue
            yield VehicleMoved.of(message)

    @strawberry.subscription(description="Deviations raised, escalated and cleared.")
    async def route_deviation(self, info: Ctx) -> AsyncGenerator[RouteDeviationAlert, None]:
        async for message in _stream(info, "route_deviation"):
            yield RouteDeviationAlert.of(message)
