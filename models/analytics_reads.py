"""Analytics read models: per-workspace facts folded from the event stream by the
`analytics` consumer group (and by the rebuild command, from `analytics_events`).

Reports read only these tables, never the live ones. One row per route, optimization,
vehicle day, incident response and quantum job: small next to the events they summarize,
and grouped by day, week or a dimension at request time."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import DATEMULTIRANGE
from sqlmodel import Field, SQLModel


def _uuid(*, key: bool = False) -> sa.Column[UUID]:
    return sa.Column(sa.Uuid, primary_key=key, nullable=not key)


def _float() -> sa.Column[float]:
    return sa.Column(sa.Float)


def _int() -> sa.Column[int]:
    return sa.Column(sa.Integer)


def _zero() -> sa.Column[float]:
    return sa.Column(sa.Float, nullable=False, server_default="0")


def _day() -> sa.Column[date]:
    return sa.Column(sa.Date, nullable=False)


def _at() -> sa.Column[datetime]:
    return sa.Column(sa.DateTime(timezone=True))


class AnalyticsRoute(SQLModel, table=True):
    """A route's status and its planned and actual figures; `day` is the day it was first seen."""

    __tablename__ = "analytics_routes"
    __table_args__ = (
        sa.Index("idx_analytics_routes_day", "workspace_id", "day"),
        # The route a vehicle was driving when a GPS fix was taken.
        sa.Index("idx_analytics_routes_vehicle", "workspace_id", "vehicle_id", "deployed_at"),
    )

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    route_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=_day())
    vehicle_id: UUID | None = Field(default=None, sa_column=_uuid())
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # Events of different topics may be folded out of order: the newest status wins.
    status_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))
    deployed_at: datetime | None = Field(default=None, sa_column=_at())
    completed_at: datetime | None = Field(default=None, sa_column=_at())
    planned_distance_m: float | None = Field(default=None, sa_column=_float())
    planned_duration_s: float | None = Field(default=None, sa_column=_float())
    actual_distance_m: float = Field(default=0.0, sa_column=_zero())
    actual_duration_s: float | None = Field(default=None, sa_column=_float())
    stops: int | None = Field(default=None, sa_column=_int())
    stops_served: int | None = Field(default=None, sa_column=_int())
    stops_on_time: int | None = Field(default=None, sa_column=_int())
    deviations: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )


class AnalyticsOptimization(SQLModel, table=True):
    """One applied optimization (`route.optimized`) and what it saved."""

    __tablename__ = "analytics_optimizations"
    __table_args__ = (sa.Index("idx_analytics_optimizations_day", "workspace_id", "day"),)

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    event_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=_day())
    route_id: UUID | None = Field(default=None, sa_column=_uuid())
    solver: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    distance_m: float | None = Field(default=None, sa_column=_float())
    duration_s: float | None = Field(default=None, sa_column=_float())
    submitted_distance_m: float | None = Field(default=None, sa_column=_float())
    submitted_duration_s: float | None = Field(default=None, sa_column=_float())
    previous_distance_m: float | None = Field(default=None, sa_column=_float())
    previous_duration_s: float | None = Field(default=None, sa_column=_float())
    optimization_score: float | None = Field(default=None, sa_column=_float())
    solve_time_ms: float | None = Field(default=None, sa_column=_float())
    cached: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )


class AnalyticsVehicleState(SQLModel, table=True):
    """What the fold knows of each vehicle: its type and its last GPS fix."""

    __tablename__ = "analytics_vehicle_state"

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    vehicle_id: UUID = Field(sa_column=_uuid(key=True))
    vehicle_type: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    last_lng: float | None = Field(default=None, sa_column=_float())
    last_lat: float | None = Field(default=None, sa_column=_float())
    last_fix_at: datetime | None = Field(default=None, sa_column=_at())


class AnalyticsVehicleStatus(SQLModel, table=True):
    """Each status a vehicle took and when: its time in each status is the gap to the next
    one (computed by the fleet report), so the order events are folded in does not matter."""

    __tablename__ = "analytics_vehicle_status"
    __table_args__ = (
        sa.Index("idx_analytics_vehicle_status_at", "workspace_id", "at"),
        sa.Index(
            "idx_analytics_vehicle_status_deleted",
            "workspace_id",
            "vehicle_id",
            postgresql_where=sa.text("status = 'deleted'"),
        ),
    )

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    vehicle_id: UUID = Field(sa_column=_uuid(key=True))
    at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), primary_key=True))
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False))


def _micros() -> sa.Column:
    return sa.Column(sa.BigInteger, nullable=False, server_default="0")


def _count() -> sa.Column:
    return sa.Column(sa.Integer, nullable=False, server_default="0")


class AnalyticsVehicleStatusDay(SQLModel, table=True):
    """A vehicle's closed status intervals cut into UTC days: microseconds in each status
    (whole integers, so the same facts give the same sums in any order they arrive)."""

    __tablename__ = "analytics_vehicle_status_days"
    __table_args__ = (sa.Index("idx_analytics_vehicle_status_days_day", "workspace_id", "day"),)

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    vehicle_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    in_transit_us: int = Field(default=0, sa_column=_micros())
    available_us: int = Field(default=0, sa_column=_micros())
    offline_us: int = Field(default=0, sa_column=_micros())
    maintenance_us: int = Field(default=0, sa_column=_micros())
    other_us: int = Field(default=0, sa_column=_micros())


class AnalyticsVehicleDay(SQLModel, table=True):
    """GPS distance a vehicle drove on a day."""

    __tablename__ = "analytics_vehicle_days"
    __table_args__ = (sa.Index("idx_analytics_vehicle_days_day", "workspace_id", "day"),)

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    vehicle_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    distance_m: float = Field(default=0.0, sa_column=_zero())


class AnalyticsFleetDay(SQLModel, table=True):
    """One UTC day of the whole fleet: the sums of its vehicles' rows in
    `analytics_vehicle_status_days` and `analytics_vehicle_days`, how many vehicles have
    either, how many of those were in transit or moved, and how many moved. Refolded from
    those rows for every day the fold changes (services/analytics/fleet_days.py), so that
    the fleet report reads a row a day, not one a vehicle a day."""

    __tablename__ = "analytics_fleet_days"

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=sa.Column(sa.Date, primary_key=True))
    in_transit_us: int = Field(default=0, sa_column=_micros())
    available_us: int = Field(default=0, sa_column=_micros())
    offline_us: int = Field(default=0, sa_column=_micros())
    maintenance_us: int = Field(default=0, sa_column=_micros())
    distance_m: float = Field(default=0.0, sa_column=_zero())
    vehicles: int = Field(default=0, sa_column=_count())
    active_vehicles: int = Field(default=0, sa_column=_count())
    moved_vehicles: int = Field(default=0, sa_column=_count())


def _days() -> sa.Column:
    return sa.Column(DATEMULTIRANGE, nullable=False, server_default="{}")


class AnalyticsVehicleSpan(SQLModel, table=True):
    """Each vehicle the models know (as `analytics_vehicle_state`, which every GPS batch
    rewrites, while this changes with a vehicle's days and facts): the days it has a row in
    `analytics_vehicle_status_days` (`status_days`), time in transit on it (`transit_days`)
    and GPS distance (`moved_days`), as multiranges (a few ranges each), and its newest
    status fact. The fleet report counts the vehicles active over a week or a range from
    them without reading a row per vehicle and day."""

    __tablename__ = "analytics_vehicle_spans"

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    vehicle_id: UUID = Field(sa_column=_uuid(key=True))
    status_days: Any = Field(default=None, sa_column=_days())
    transit_days: Any = Field(default=None, sa_column=_days())
    moved_days: Any = Field(default=None, sa_column=_days())
    # Its newest status fact: its open interval, without a look-up per vehicle.
    last_status: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    last_status_at: datetime | None = Field(default=None, sa_column=_at())


class AnalyticsIncident(SQLModel, table=True):
    """An incident's first arrival on scene: how long the response took."""

    __tablename__ = "analytics_incidents"
    __table_args__ = (sa.Index("idx_analytics_incidents_day", "workspace_id", "day"),)

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    incident_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=_day())
    # The first unit on scene (its type is joined from the vehicle state when reporting).
    vehicle_id: UUID | None = Field(default=None, sa_column=_uuid())
    response_time_s: float | None = Field(default=None, sa_column=_float())
    travel_time_s: float | None = Field(default=None, sa_column=_float())


class AnalyticsQuantumJob(SQLModel, table=True):
    """A quantum or hybrid job against the classical answer on the same input."""

    __tablename__ = "analytics_quantum_jobs"
    __table_args__ = (sa.Index("idx_analytics_quantum_jobs_day", "workspace_id", "day"),)

    workspace_id: UUID = Field(sa_column=_uuid(key=True))
    job_id: UUID = Field(sa_column=_uuid(key=True))
    day: date = Field(sa_column=_day())
    mode: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    backend: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    status: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # improved, matched or lost against the classical answer; null when it did not finish.
    outcome: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    circuits: int | None = Field(default=None, sa_column=_int())
    qubits: int | None = Field(default=None, sa_column=_int())
    depth: int | None = Field(default=None, sa_column=_int())
    energy: float | None = Field(default=None, sa_column=_float())
    classical_cost: float | None = Field(default=None, sa_column=_float())
    final_cost: float | None = Field(default=None, sa_column=_float())
    gap_to_exact: float | None = Field(default=None, sa_column=_float())
    fell_back: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    timed_out: bool = Field(
        default=False, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.false())
    )
    time_ms: float | None = Field(default=None, sa_column=_float())


READ_MODELS: tuple[type[SQLModel], ...] = (
    AnalyticsRoute,
    AnalyticsOptimization,
    AnalyticsVehicleState,
    AnalyticsVehicleStatus,
    AnalyticsVehicleStatusDay,
    AnalyticsVehicleDay,
    AnalyticsFleetDay,
    AnalyticsVehicleSpan,
    AnalyticsIncident,
    AnalyticsQuantumJob,
)
