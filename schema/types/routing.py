"""Routing types: routes with their stops and path, optimization jobs, progress."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Any
from uuid import UUID

import strawberry
from geoalchemy2.shape import to_shape
from strawberry.scalars import JSON
from strawberry.types import Info

from core.jobs import progress_channel
from models import OptimizationJob as JobRow
from models import Route as RouteRow
from models import RouteStop as StopRow
from models.enums import JobStatus, OptimizationMode, RouteStatus
from models.routing import plan_travel
from models.routing_inputs import (
    FleetPlanRequest,
    OptimizeFor,
    OptimizeRequest,
    RouteCreate,
    RouteUpdate,
)
from schema.requests import plain, request

__all__ = ["progress_channel"]
from schema.context import Context
from schema.types.fleet import Location, Vehicle

RouteStatusEnum = strawberry.enum(RouteStatus, name="RouteStatus")
OptimizationModeEnum = strawberry.enum(OptimizationMode, name="OptimizationMode")
JobStatusEnum = strawberry.enum(JobStatus, name="JobStatus")
OptimizeForEnum = strawberry.enum(OptimizeFor, name="OptimizeFor")


@strawberry.type(description="A GeoJSON LineString: one leg of a route.")
class PathLeg:
    segment_index: int
    type: str
    coordinates: list[list[float]]


@strawberry.type
class RouteStop:
    id: UUID
    stop_order: int
    location_id: UUID
    load_kg: float | None
    service_time_minutes: int | None
    time_window_start: datetime | None
    time_window_end: datetime | None
    arrival_eta: datetime | None
    departure_eta: datetime | None
    completed: bool
    notes: str | None

    @classmethod
    def of(cls, row: StopRow) -> RouteStop:
        return cls(
            id=row.id,
            stop_order=row.stop_order,
            location_id=row.location_id,
            load_kg=row.load_kg,
            service_time_minutes=row.service_time_minutes,
            time_window_start=row.time_window_start,
            time_window_end=row.time_window_end,
            arrival_eta=row.arrival_eta,
            departure_eta=row.departure_eta,
            completed=row.completed,
            notes=row.notes,
        )

    @strawberry.field
    async def location(self, info: Info[Context, None]) -> Location | None:
        row = await info.context.loaders.location_by_id.load(self.location_id)
        return Location.of(row) if row else None


@strawberry.type
class Route:
    id: UUID
    name: str | None
    status: RouteStatusEnum  # type: ignore[valid-type]
    vehicle_id: UUID | None
    depot_location_id: UUID | None
    optimization_mode: OptimizationModeEnum  # type: ignore[valid-type]
    planned_start: datetime | None
    distance_km: float | None
    estimated_duration_minutes: int | None
    actual_duration_minutes: int | None
    optimization_score: float | None = strawberry.field(
        description="Distance saved against the submitted stop order, in percent."
    )
    constraints: JSON
    started_at: datetime | None
    completed_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, row: RouteRow) -> Route:
        return cls(
            id=row.id,
            name=row.name,
            status=row.status,
            vehicle_id=row.vehicle_id,
            depot_location_id=row.depot_location_id,
            optimization_mode=row.optimization_mode,
            planned_start=row.planned_start,
            distance_km=row.distance_km,
            estimated_duration_minutes=row.estimated_duration_minutes,
            actual_duration_minutes=row.actual_duration_minutes,
            optimization_score=row.optimization_score,
            constraints=JSON(row.constraints),
            started_at=row.started_at,
            completed_at=row.completed_at,
            created_at=row.created_at,
        )

    @strawberry.field
    async def stops(self, info: Info[Context, None]) -> list[RouteStop]:
        rows = await info.context.loaders.stops_by_route.load(self.id)
        return [RouteStop.of(row) for row in rows or []]

    @strawberry.field
    async def path(self, info: Info[Context, None]) -> list[PathLeg]:
        rows = await info.context.loaders.paths_by_route.load(self.id)
        return [
            PathLeg(
                segment_index=row.segment_index,
                type="LineString",
                coordinates=[list(c) for c in to_shape(row.path).coords],
            )
            for row in rows or []
        ]

    @strawberry.field
    async def vehicle(self, info: Info[Context, None]) -> Vehicle | None:
        if self.vehicle_id is None:
            return None
        loaders = info.context.loaders
        row = await loaders.vehicle_by_id.load(self.vehicle_id)
        return Vehicle.of(row, loaders) if row else None

    @strawberry.field
    async def depot(self, info: Info[Context, None]) -> Location | None:
        if self.depot_location_id is None:
            return None
        row = await info.context.loaders.location_by_id.load(self.depot_location_id)
        return Location.of(row) if row else None


@strawberry.type(description="How a plan is priced: along a road network, or great-circle.")
class Travel:
    source: str = strawberry.field(description="`road` or `great_circle`.")
    network_version: int | None
    reason: str | None = strawberry.field(description="Why great-circle travel was used.")
    off_network_location_ids: list[str] = strawberry.field(
        description="Locations beyond the snap distance of the road network."
    )

    @classmethod
    def of(cls, travel: dict[str, Any] | None) -> Travel:
        shown = plan_travel(travel)
        return cls(
            source=shown["source"],
            network_version=shown.get("network_version"),
            reason=shown.get("reason"),
            off_network_location_ids=shown["off_network"],
        )


@strawberry.type
class OptimizationJob:
    id: UUID
    route_id: UUID | None
    status: JobStatusEnum  # type: ignore[valid-type]
    cached: bool
    solution_quality_score: float | None
    execution_time_ms: int | None
    error_message: str | None
    retry_count: int
    result: JSON | None = strawberry.field(
        description="Solver, engine, distance, duration, gap, unassigned stops with reasons."
    )
    travel: Travel
    created_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: JobRow) -> OptimizationJob:
        result: dict[str, Any] | None = row.result_data
        return cls(
            id=row.id,
            route_id=row.route_id,
            status=row.status,
            cached=bool(result and result.get("cached")),
            solution_quality_score=row.solution_quality_score,
            execution_time_ms=row.execution_time_ms,
            error_message=row.error_message,
            retry_count=row.retry_count,
            result=JSON({k: v for k, v in result.items() if k != "routes"}) if result else None,
            travel=Travel.of(row.travel()),
            created_at=row.created_at,
            started_at=row.started_at,
            completed_at=row.completed_at,
        )


@strawberry.type
class OptimizePayload:
    job: OptimizationJob
    route: Route


@strawberry.enum(description="What happened to a route.")
class RouteChangeKind(Enum):
    CREATED = "created"
    UPDATED = "updated"
    OPTIMIZED = "optimized"
    REOPTIMIZED = "reoptimized"
    DEPLOYED = "deployed"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    DELETED = "deleted"


@strawberry.type(
    description="A route of the workspace changed: read it again to draw it (a deleted one is"
    " gone). Sent once the change has committed."
)
class RouteChange:
    route_id: UUID
    change: RouteChangeKind
    vehicle_id: UUID | None
    event_id: UUID
    at: datetime

    @classmethod
    def of(cls, change: str, message: dict[str, Any]) -> RouteChange:
        data = message["data"]
        vehicle = data.get("vehicle_id")
        return cls(
            route_id=UUID(data["route_id"]),
            change=RouteChangeKind(change),
            vehicle_id=UUID(vehicle) if vehicle else None,
            event_id=UUID(message["event_id"]),
            at=datetime.fromisoformat(message["timestamp"]),
        )


@strawberry.type(description="A running job's progress, for a dispatcher's progress bar.")
class JobProgress:
    job_id: UUID
    status: JobStatusEnum  # type: ignore[valid-type]
    best_cost: float | None
    elapsed_s: float | None


@strawberry.type
class StopChange:
    route_stop_id: UUID
    location_id: UUID
    old_order: int
    new_order: int
    old_eta: datetime | None
    new_eta: datetime | None


@strawberry.type
class ReplanPayload:
    route: Route
    changes: list[StopChange]
    travel: Travel


@strawberry.type
class UnassignedStop:
    location_id: UUID
    stop: int = strawberry.field(description="Index of the stop in the request.")
    reason: str


@strawberry.type
class FleetPlanPayload:
    routes: list[Route]
    unassigned: list[UnassignedStop]
    travel: Travel


@strawberry.input
class ConstraintsInput:
    max_distance_km: float | None = None
    time_window_start: str | None = None
    time_window_end: str | None = None
    optimize_for: OptimizeForEnum = OptimizeFor.DISTANCE  # type: ignore[valid-type]


@strawberry.input
class StopInput:
    location_id: UUID
    load_kg: float = 0
    service_time_minutes: int = 0
    time_window_start: datetime | None = None
    time_window_end: datetime | None = None
    notes: str | None = None


@strawberry.input
class RouteInput:
    def to_request(self) -> RouteCreate:
        return plain(RouteCreate, self, nested=("constraints",))

    stops: list[StopInput]
    name: str | None = None
    vehicle_id: UUID | None = None
    depot_location_id: UUID | None = None
    optimization_mode: OptimizationModeEnum = OptimizationMode.CLASSICAL  # type: ignore[valid-type]
    planned_start: datetime | None = None
    constraints: ConstraintsInput | None = strawberry.UNSET


@strawberry.input
class RoutePatch:
    def to_request(self) -> RouteUpdate:
        return plain(RouteUpdate, self, nested=("constraints",))

    name: str | None = strawberry.UNSET
    vehicle_id: UUID | None = strawberry.UNSET
    depot_location_id: UUID | None = strawberry.UNSET
    optimization_mode: OptimizationModeEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    planned_start: datetime | None = strawberry.UNSET
    stops: list[StopInput] | None = strawberry.UNSET
    constraints: ConstraintsInput | None = strawberry.UNSET


@strawberry.input
class OptimizeInput:
    time_limit_s: float | None = None
    seed: int = 0


@strawberry.input
class FleetPlanInput:
    def to_request(self) -> FleetPlanRequest:
        return plain(FleetPlanRequest, self, nested=("constraints",))

    depot_location_id: UUID
    vehicle_ids: list[UUID]
    stops: list[StopInput]
    name: str | None = None
    planned_start: datetime | None = None
    constraints: ConstraintsInput | None = strawberry.UNSET
    time_limit_s: float | None = None


@strawberry.input
class RouteFilterInput:
    status: RouteStatusEnum | None = None  # type: ignore[valid-type]
    vehicle_id: UUID | None = None


def optimize_request(value: OptimizeInput | None) -> OptimizeRequest:
    return request(OptimizeRequest, value)
