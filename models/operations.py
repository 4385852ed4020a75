"""Operations context: the live position time series and emergency incidents."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlmodel import Field, SQLModel

from models.columns import (
    created_at,
    gist,
    pg_enum,
    point,
    timestamp,
    updated_at,
    uuid_pk,
    workspace_fk,
)
from models.enums import IncidentSeverity, IncidentStatus, SlaState


class LiveVehiclePosition(SQLModel, table=True):
    """Partitioned by month on `recorded_at`; the key makes a repeated fix idempotent, and
    its index, scanned backwards, gives a vehicle's newest positions first. `workspace_id`
    has no foreign key or index of its own: a position belongs to its workspace through its
    vehicle (migrations 0011 and 0014)."""

    __tablename__ = "live_vehicle_positions"
    __table_args__ = (
        gist("idx_live_pos_geo", "position"),
        {"postgresql_partition_by": "RANGE (recorded_at)"},
    )

    vehicle_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid,
            sa.ForeignKey("vehicles.id", ondelete="CASCADE"),
            primary_key=True,
        )
    )
    recorded_at: datetime = Field(
        sa_column=sa.Column(
            sa.DateTime(timezone=True), primary_key=True, server_default=sa.func.now()
        )
    )
    workspace_id: UUID = Field(sa_column=workspace_fk(fk=False))
    position: Any = Field(sa_column=point(nullable=False))
    speed_kmh: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    heading: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    accuracy_m: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    battery_pct: float | None = Field(default=None, sa_column=sa.Column(sa.Float))


class Incident(SQLModel, table=True):
    __tablename__ = "incidents"
    __table_args__ = (
        sa.Index("idx_incidents_workspace", "workspace_id", "status"),
        sa.Index(
            "idx_incidents_severity",
            "workspace_id",
            "severity",
            postgresql_where=sa.text("status <> 'closed'::incident_status"),
        ),
        gist("idx_incidents_location", "location"),
        sa.CheckConstraint(
            "sla_state IN ('on_track', 'at_risk', 'breached', 'met')",
            name="ck_incidents_sla_state",
        ),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk(ondelete=None))
    severity: IncidentSeverity = Field(
        sa_column=pg_enum(IncidentSeverity, "incident_severity", nullable=False)
    )
    incident_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    location: Any = Field(sa_column=point(nullable=False))
    status: IncidentStatus = Field(
        default=IncidentStatus.REPORTED,
        sa_column=pg_enum(
            IncidentStatus, "incident_status", nullable=False, server_default="reported"
        ),
    )
    response_sla_minutes: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    assigned_vehicles: list[UUID] | None = Field(
        default_factory=list,
        sa_column=sa.Column(ARRAY(sa.Uuid), server_default=sa.text("'{}'::uuid[]")),
    )
    reported_by: UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"))
    )
    resolved_at: datetime | None = Field(default=None, sa_column=timestamp())
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    # The timeline (reported is `created_at`) and the clock it is measured against.
    dispatched_at: datetime | None = Field(default=None, sa_column=timestamp())
    first_on_scene_at: datetime | None = Field(default=None, sa_column=timestamp())
    closed_at: datetime | None = Field(default=None, sa_column=timestamp())
    sla_deadline: datetime | None = Field(default=None, sa_column=timestamp())
    sla_state: SlaState = Field(
        default=SlaState.ON_TRACK,
        sa_column=sa.Column(sa.Text, nullable=False, server_default="on_track"),
    )
    # Reported to first unit on scene, and that unit's dispatch to on scene (NFPA 1710).
    response_time_s: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    travel_time_s: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    # The place the responders' one-stop routes lead to (route stops refer to locations).
    scene_location_id: UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("locations.id"))
    )


class IncidentUnit(SQLModel, table=True):
    """A vehicle sent to an incident, with its own timeline. A vehicle has at most one
    uncleared assignment: the unique index is the last word when two dispatches race."""

    __tablename__ = "incident_units"
    __table_args__ = (
        sa.Index(
            "uq_incident_units_active",
            "vehicle_id",
            unique=True,
            postgresql_where=sa.text("cleared_at IS NULL"),
        ),
        sa.Index("idx_incident_units_incident", "incident_id"),
        sa.Index("idx_incident_units_route", "route_id"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    incident_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("incidents.id", ondelete="CASCADE"), nullable=False
        )
    )
    vehicle_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("vehicles.id", ondelete="CASCADE"), nullable=False
        )
    )
    route_id: UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("routes.id", ondelete="SET NULL")),
    )
    dispatched_at: datetime = Field(sa_column=timestamp(nullable=False))
    eta: datetime | None = Field(default=None, sa_column=timestamp())
    distance_m: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    on_scene_at: datetime | None = Field(default=None, sa_column=timestamp())
    cleared_at: datetime | None = Field(default=None, sa_column=timestamp())
    created_at: datetime | None = Field(default=None, sa_column=created_at())


class RouteDeviation(SQLModel, table=True):
    """A vehicle off its route's path: raised after consecutive far positions, cleared when
    it is back; at most one active (uncleared) deviation per vehicle."""

    __tablename__ = "route_deviations"
    __table_args__ = (
        sa.Index(
            "uq_route_deviations_active",
            "vehicle_id",
            unique=True,
            postgresql_where=sa.text("cleared_at IS NULL"),
        ),
        sa.Index("idx_route_deviations_workspace", "workspace_id", sa.text("started_at DESC")),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    vehicle_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("vehicles.id", ondelete="CASCADE"), nullable=False
        )
    )
    route_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("routes.id", ondelete="CASCADE"), nullable=False)
    )
    severity: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    distance_m: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    max_distance_m: float = Field(sa_column=sa.Column(sa.Float, nullable=False))
    position: Any = Field(sa_column=point(nullable=False))
    started_at: datetime = Field(sa_column=timestamp(nullable=False))
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    cleared_at: datetime | None = Field(default=None, sa_column=timestamp())
