"""Live tracking types: the live map's messages and route deviations."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry

from models import RouteDeviation as DeviationRow
from schema.types.fleet import GeoPointType


@strawberry.type(description="A vehicle's new position, as the live map receives it.")
class VehicleMoved:
    vehicle_id: UUID
    position: list[float] = strawberry.field(description="[lng, lat]")
    speed: float | None
    heading: float | None
    recorded_at: datetime

    @classmethod
    def of(cls, message: dict[str, Any]) -> VehicleMoved:
        return cls(
            vehicle_id=UUID(message["vehicle_id"]),
            position=message["position"],
            speed=message.get("speed"),
            heading=message.get("heading"),
            recorded_at=datetime.fromisoformat(message["recorded_at"]),
        )


@strawberry.type(description="A deviation raised, escalated or cleared.")
class RouteDeviationAlert:
    vehicle_id: UUID
    route_id: UUID
    distance_from_route_m: float
    severity: str
    state: str

    @classmethod
    def of(cls, message: dict[str, Any]) -> RouteDeviationAlert:
        return cls(
            vehicle_id=UUID(message["vehicle_id"]),
            route_id=UUID(message["route_id"]),
            distance_from_route_m=message["distance_from_route_m"],
            severity=message["severity"],
            state=message["state"],
        )


@strawberry.type
class RouteDeviation:
    id: UUID
    vehicle_id: UUID
    route_id: UUID
    severity: str
    distance_from_route_m: float
    max_distance_m: float
    position: GeoPointType | None
    started_at: datetime

    @classmethod
    def of(cls, row: DeviationRow) -> RouteDeviation:
        return cls(
            id=row.id,
            vehicle_id=row.vehicle_id,
            route_id=row.route_id,
            severity=row.severity,
            distance_from_route_m=round(row.distance_m, 1),
            max_distance_m=round(row.max_distance_m, 1),
            position=GeoPointType.of(row.position),
            started_at=row.started_at,
        )


@strawberry.type
class PositionAck:
    vehicle_id: UUID
    recorded_at: datetime
    duplicate: bool


@strawberry.input
class PositionInput:
    vehicle_id: UUID
    lat: float
    lng: float
    speed: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    battery_pct: float | None = None
    recorded_at: datetime | None = None
