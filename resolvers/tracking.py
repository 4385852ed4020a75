"""Live tracking over GraphQL: report a position, list deviations, and the live map's
subscriptions, each scoped to the subscriber's workspace."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from typing import Any
from uuid import UUID

import orjson
import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.payloads import PositionResult
from schema.permissions import Operation, ensure_allowed, requires
from schema.requests import input_dict
from schema.types.fleet import BoundingBoxInput, bounding_box
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
    async def report_position(self, info: Ctx, input: PositionInput) -> PositionResult:
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


async def _channel(info: Ctx) -> str:
    actor = await info.context.principal()
    ensure_allowed(actor, Operation.TRACKING_STREAM, "Your role may not watch the live map")
    return feed.channel(actor.workspace_id)


async def _stream(info: Ctx, kind: str) -> AsyncGenerator[dict[str, Any], None]:
    channel = await _channel(info)
    async with info.context.request.app.state.hub.subscribe(channel) as subscription:
        async for message in subscription:
            if message.get("type") == kind:
                yield message


def _moves_filter(
    vehicle_ids: list[UUID] | None, bbox: BoundingBoxInput | None
) -> Callable[[dict[str, Any]], bool]:
    wanted = {str(v) for v in vehicle_ids} if vehicle_ids else None
    box = bounding_box(bbox)

    def keep(message: dict[str, Any]) -> bool:
        if message.get("type") != "vehicle_moved":
            return False
        if wanted is not None and message["vehicle_id"] not in wanted:
            return False
        if box is None:
            return True
        lng, lat = message["position"]
        return box.min_lng <= lng <= box.max_lng and box.min_lat <= lat <= box.max_lat

    return keep


@strawberry.type
class TrackingSubscription:
    @strawberry.subscription(description="Positions of the workspace's vehicles as they arrive.")
    async def vehicle_moved(
        self,
        info: Ctx,
        vehicle_ids: list[UUID] | None = None,
        bbox: BoundingBoxInput | None = None,
    ) -> AsyncGenerator[VehicleMoved, None]:
        keep = _moves_filter(vehicle_ids, bbox)
        async for message in _stream(info, "vehicle_moved"):
            if keep(message):
                yield VehicleMoved.of(message)

    @strawberry.subscription(
        description="The live map in frames: the positions of the workspace's vehicles that"
        " arrived within one frame interval (DASHBOARD_FRAME_MS, 50 ms), oldest first, at most"
        " one frame per interval. For dashboards that follow many vehicles."
    )
    async def fleet_moved(
        self,
        info: Ctx,
        vehicle_ids: list[UUID] | None = None,
        bbox: BoundingBoxInput | None = None,
    ) -> AsyncGenerator[list[VehicleMoved], None]:
        keep = _moves_filter(vehicle_ids, bbox)
        channel = await _channel(info)
        hub = info.context.request.app.state.hub
        async with hub.subscribe(channel, batched=True) as subscription:
            async for frame in subscription.frames():
                moves = [VehicleMoved.of(m) for m in orjson.loads(frame) if keep(m)]
                if moves:
                    yield moves

    @strawberry.subscription(description="Deviations raised, escalated and cleared.")
    async def route_deviation(self, info: Ctx) -> AsyncGenerator[RouteDeviationAlert, None]:
        async for message in _stream(info, "route_deviation"):
            yield RouteDeviationAlert.of(message)
