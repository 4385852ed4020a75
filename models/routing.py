"""Routing context: routes, their stops and path segments, optimization jobs."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from models.columns import (
    created_at,
    gist,
    jsonb,
    linestring,
    live,
    pg_enum,
    timestamp,
    updated_at,
    uuid_pk,
    workspace_fk,
)
from models.enums import JobStatus, OptimizationMode, RouteStatus, SolverType


def _route_fk() -> sa.Column[Any]:
    return sa.Column(sa.Uuid, sa.ForeignKey("routes.id", ondelete="CASCADE"), nullable=False)


class Route(SQLModel, table=True):
    __tablename__ = "routes"
    __table_args__ = (
        sa.CheckConstraint(
            "optimization_score >= 0 AND optimization_score <= 100",
            name="ck_routes_optimization_score",
        ),
        live("idx_routes_workspace", "workspace_id"),
        live("idx_routes_status", "workspace_id", "status"),
        live("idx_routes_vehicle", "vehicle_id"),
        sa.Index(
            "idx_routes_created",
            "workspace_id",
            sa.text("created_at DESC"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    vehicle_id: UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("vehicles.id", ondelete="SET NULL")),
    )
    name: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    optimization_mode: OptimizationMode = Field(
        default=OptimizationMode.CLASSICAL,
        sa_column=pg_enum(
            OptimizationMode, "optimization_mode", nullable=False, server_default="classical"
        ),
    )
    status: RouteStatus = Field(
        default=RouteStatus.DRAFT,
        sa_column=pg_enum(RouteStatus, "route_status", nullable=False, server_default="draft"),
    )
    distance_km: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    estimated_duration_minutes: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    actual_duration_minutes: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    optimization_score: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    constraints: dict[str, Any] = Field(default_factory=dict, sa_column=jsonb())
    # Where the vehicle starts and ends (its last known position when unset), and when.
    depot_location_id: UUID | None = Field(
        default=None, sa_column=sa.Column(sa.Uuid, sa.ForeignKey("locations.id"))
    )
    planned_start: datetime | None = Field(default=None, sa_column=timestamp())
    created_by: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id"), nullable=False)
    )
    started_at: datetime | None = Field(default=None, sa_column=timestamp())
    completed_at: datetime | None = Field(default=None, sa_column=timestamp())

    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())


class RouteStop(SQLModel, table=True):
    __tablename__ = "route_stops"
    __table_args__ = (
        # Checked when each statement ends, so one UPDATE can permute a route's stops.
        sa.UniqueConstraint(
            "route_id",
            "stop_order",
            name="unique_stop_order",
            deferrable=True,
            initially="IMMEDIATE",
        ),
        # The unique constraint's index serves every read by route (migration 0013).
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    # Denormalised from the route so that the tenant policy is a column comparison.
    workspace_id: UUID = Field(sa_column=workspace_fk())
    route_id: UUID = Field(sa_column=_route_fk())
    location_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("locations.id"), nullable=False)
    )
    stop_order: int = Field(sa_column=sa.Column(sa.Integer, nullable=False))
    arrival_eta: datetime | None = Field(default=None, sa_column=timestamp())
    departure_eta: datetime | None = Field(default=None, sa_column=timestamp())
    actual_arrival: datetime | None = Field(default=None, sa_column=timestamp())
    service_time_minutes: int | None = Field(
        default=0, sa_column=sa.Column(sa.Integer, server_default="0")
    )
    time_window_start: datetime | None = Field(default=None, sa_column=timestamp())
    time_window_end: datetime | None = Field(default=None, sa_column=timestamp())
    load_kg: float | None = Field(
        default=0.0, sa_column=sa.Column(sa.Float, server_default=sa.text("0"))
    )
    completed: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    completed_at: datetime | None = Field(default=None, sa_column=timestamp())
    notes: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class RoutePath(SQLModel, table=True):
    """One leg of a route's path. Written and read through the route: no foreign key or
    index of its own on `workspace_id` (migration 0012)."""

    __tablename__ = "route_paths"
    __table_args__ = (
        sa.Index("idx_route_paths_route", "route_id"),
        gist("idx_route_paths_geo", "path"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk(fk=False))
    route_id: UUID = Field(sa_column=_route_fk())
    path: Any = Field(sa_column=linestring())
    segment_index: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    distance_km: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    created_at: datetime | None = Field(default=None, sa_column=created_at())


class OptimizationJob(SQLModel, table=True):
    __tablename__ = "optimization_jobs"
    __table_args__ = (
        sa.Index("idx_opt_jobs_route", "route_id"),
        sa.Index("idx_opt_jobs_status", "workspace_id", "status"),
        sa.Index("idx_opt_jobs_hash", "input_hash"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    route_id: UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("routes.id", ondelete="SET NULL")),
    )
    workspace_id: UUID = Field(sa_column=workspace_fk(ondelete=None))
    solver_type: SolverType = Field(sa_column=pg_enum(SolverType, "solver_type", nullable=False))
    status: JobStatus = Field(
        default=JobStatus.PENDING,
        sa_column=pg_enum(JobStatus, "job_status", nullable=False, server_default="pending"),
    )
    input_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    input_data: dict[str, Any] = Field(sa_column=sa.Column(JSONB, nullable=False))
    result_data: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    solution_quality_score: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    execution_time_ms: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    error_message: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    retry_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    requested_by: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    # The latest progress report of a running solve: best cost so far and elapsed time.
    progress: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    started_at: datetime | None = Field(default=None, sa_column=timestamp())
    completed_at: datetime | None = Field(default=None, sa_column=timestamp())
    # How many times a worker claimed the job; the latest claim alone may save its result.
    attempts: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    # A running job's worker renews this; past it, the worker is presumed gone.
    lease_expires_at: datetime | None = Field(default=None, sa_column=timestamp())

    def travel(self) -> dict[str, Any]:
        """How the plan is priced, from its problem (see `plan_travel`)."""
        return plan_travel(((self.input_data or {}).get("problem") or {}).get("travel"))


def plan_travel(travel: dict[str, Any] | None) -> dict[str, Any]:
    """A plan's travel as reported: `source` (road or great_circle), `network_version`,
    `reason` and the `off_network` location ids; plans made before road networks, or
    without one, used great-circle travel."""
    return {"off_network": [], **(travel or {"source": "great_circle"})}
