"""Validated input shapes of the operations context: incidents and their dispatch."""

from __future__ import annotations

from uuid import UUID

from pydantic import Field

from core.validation import Body
from models.enums import IncidentSeverity, IncidentStatus, VehicleType
from models.geo import GeoPoint

MAX_UNITS = 10


class IncidentCreate(Body):
    severity: IncidentSeverity
    incident_type: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=5000)
    location: GeoPoint
    response_sla_minutes: int | None = Field(default=None, ge=1, le=7 * 24 * 60)


class IncidentUpdate(Body):
    status: IncidentStatus | None = None
    severity: IncidentSeverity | None = None
    incident_type: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=5000)


class DispatchRequest(Body):
    """`count` defaults by severity; `vehicle_ids` is a manual choice of units."""

    count: int | None = Field(default=None, ge=1, le=MAX_UNITS)
    vehicle_types: list[VehicleType] | None = Field(default=None, min_length=1)
    vehicle_ids: list[UUID] | None = Field(default=None, min_length=1, max_length=MAX_UNITS)
