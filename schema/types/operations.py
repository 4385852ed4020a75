"""Operations types: incidents with their timeline and units, dispatch answers, the
`incidentUpdated` message, and each mode's experience configuration."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from models import Incident as IncidentRow
from models import IncidentUnit as UnitRow
from models.enums import IncidentSeverity, IncidentStatus, SlaState
from models.operations_inputs import DispatchRequest, IncidentCreate
from models.operations_inputs import IncidentUpdate as IncidentUpdateRequest
from schema.context import Context
from schema.requests import request
from schema.types.fleet import GeoPointInput, GeoPointType, Vehicle, VehicleTypeEnum

IncidentSeverityEnum = strawberry.enum(IncidentSeverity, name="IncidentSeverity")
IncidentStatusEnum = strawberry.enum(IncidentStatus, name="IncidentStatus")
SlaStateEnum = strawberry.enum(SlaState, name="SlaState")


@strawberry.type
class IncidentTimeline:
    reported_at: datetime | None
    dispatched_at: datetime | None
    first_on_scene_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


@strawberry.type(description="A vehicle sent to an incident, with its own timeline.")
class IncidentUnit:
    vehicle_id: UUID
    route_id: UUID | None
    dispatched_at: datetime
    eta: datetime | None
    distance_m: float | None
    on_scene_at: datetime | None
    cleared_at: datetime | None

    @classmethod
    def of(cls, row: UnitRow) -> IncidentUnit:
        return cls(
            vehicle_id=row.vehicle_id,
            route_id=row.route_id,
            dispatched_at=row.dispatched_at,
            eta=row.eta,
            distance_m=row.distance_m,
            on_scene_at=row.on_scene_at,
            cleared_at=row.cleared_at,
        )

    @strawberry.field
    async def vehicle(self, info: Info[Context, None]) -> Vehicle | None:
        loaders = info.context.loaders
        row = await loaders.vehicle_by_id.load(self.vehicle_id)
        return Vehicle.of(row, loaders) if row else None


@strawberry.type
class Incident:
    id: UUID
    severity: IncidentSeverityEnum  # type: ignore[valid-type]
    incident_type: str
    description: str | None
    location: GeoPointType | None
    status: IncidentStatusEnum  # type: ignore[valid-type]
    response_sla_minutes: int | None
    sla_deadline: datetime | None
    sla_state: SlaStateEnum  # type: ignore[valid-type]
    assigned_vehicles: list[UUID]
    reported_by: UUID | None
    timeline: IncidentTimeline
    response_time_s: int | None = strawberry.field(
        description="Reported to first unit on scene, in seconds."
    )
    travel_time_s: int | None = strawberry.field(
        description="The first unit on scene's dispatch to arrival, in seconds."
    )
    created_at: datetime | None
    row: strawberry.Private[IncidentRow]

    @classmethod
    def of(cls, row: IncidentRow) -> Incident:
        return cls(
            id=row.id,
            severity=row.severity,
            incident_type=row.incident_type,
            description=row.description,
            location=GeoPointType.of(row.location),
            status=row.status,
            response_sla_minutes=row.response_sla_minutes,
            sla_deadline=row.sla_deadline,
            sla_state=SlaState(row.sla_state),
            assigned_vehicles=list(row.assigned_vehicles or []),
            reported_by=row.reported_by,
            timeline=IncidentTimeline(
                reported_at=row.created_at,
                dispatched_at=row.dispatched_at,
                first_on_scene_at=row.first_on_scene_at,
                resolved_at=row.resolved_at,
                closed_at=row.closed_at,
            ),
            response_time_s=row.response_time_s,
            travel_time_s=row.travel_time_s,
            created_at=row.created_at,
            row=row,
        )

    @strawberry.field(description="Every unit sent, cleared ones included.")
    async def units(self, info: Info[Context, None]) -> list[IncidentUnit]:
        rows = await info.context.loaders.units_by_incident.load(self.id)
        return [IncidentUnit.of(r) for r in rows or []]


@strawberry.type
class DispatchedUnit:
    vehicle_id: UUID
    vehicle_type: str
    route_id: UUID
    eta: datetime
    travel_s: int
    distance_m: int


@strawberry.type(description="A vehicle not sent, and why: farther, busy, stale position...")
class DispatchAlternative:
    vehicle_id: UUID
    vehicle_type: str
    reason: str
    travel_s: int | None
    distance_m: int | None


@strawberry.type
class DispatchResultType:
    incident: Incident
    requested: int
    dispatched: int
    shortfall: int
    message: str
    units: list[DispatchedUnit]
    sla_state: SlaStateEnum  # type: ignore[valid-type]
    alternatives: list[DispatchAlternative]


@strawberry.type(description="A change of an incident: created, dispatched, on scene, ...")
class IncidentUpdate:
    change: str
    incident_id: UUID
    status: IncidentStatusEnum  # type: ignore[valid-type]
    severity: IncidentSeverityEnum  # type: ignore[valid-type]
    sla_state: SlaStateEnum  # type: ignore[valid-type]
    assigned_vehicles: list[UUID]
    vehicle_id: UUID | None = None

    @classmethod
    def of(cls, message: dict[str, Any]) -> IncidentUpdate:
        vehicle = message.get("vehicle_id")
        return cls(
            change=message["change"],
            incident_id=UUID(message["incident_id"]),
            status=IncidentStatus(message["status"]),
            severity=IncidentSeverity(message["severity"]),
            sla_state=SlaState(message["sla_state"]),
            assigned_vehicles=[UUID(v) for v in message["assigned_vehicles"]],
            vehicle_id=UUID(vehicle) if vehicle else None,
        )


@strawberry.input
class IncidentInput:
    def to_request(self) -> IncidentCreate:
        return request(IncidentCreate, self)

    severity: IncidentSeverityEnum  # type: ignore[valid-type]
    incident_type: str
    location: GeoPointInput
    description: str | None = strawberry.UNSET
    response_sla_minutes: int | None = strawberry.UNSET


@strawberry.input
class IncidentPatch:
    def to_request(self) -> IncidentUpdateRequest:
        return request(IncidentUpdateRequest, self)

    status: IncidentStatusEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    severity: IncidentSeverityEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    incident_type: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET


@strawberry.input
class DispatchInput:
    count: int | None = strawberry.UNSET
    vehicle_types: list[VehicleTypeEnum] | None = strawberry.UNSET  # type: ignore[valid-type]
    vehicle_ids: list[UUID] | None = strawberry.UNSET


@strawberry.input
class IncidentFilterInput:
    status: IncidentStatusEnum | None = None  # type: ignore[valid-type]
    severity: IncidentSeverityEnum | None = None  # type: ignore[valid-type]
    created_from: datetime | None = None
    created_to: datetime | None = None


@strawberry.type(description="A mode's configuration merged with the workspace's overrides.")
class Experience:
    mode: str
    label: str
    description: str
    active: bool
    config: JSON
    overridden: list[str]


def dispatch_request(value: DispatchInput | None) -> DispatchRequest:
    return request(DispatchRequest, value)
