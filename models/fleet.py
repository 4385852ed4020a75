"""Fleet context: vehicles, drivers and locations."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.crypto import EncryptedJSON, EncryptedText
from models.columns import (
    created_at,
    gist,
    jsonb,
    live,
    pg_enum,
    point,
    timestamp,
    trigram,
    updated_at,
    uuid_pk,
    workspace_fk,
)
from models.enums import LocationType, VehicleStatus


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicles"
    __table_args__ = (
        sa.CheckConstraint(
            "fuel_type IN ('petrol', 'diesel', 'electric', 'hybrid', 'cng')",
            name="ck_vehicles_fuel_type",
        ),
        live("idx_vehicles_workspace", "workspace_id"),
        live("idx_vehicles_status", "workspace_id", "status"),
        gist("idx_vehicles_location", "last_location"),
        # A plate identifies one live vehicle of a workspace; deleted ones free it.
        sa.Index(
            "uq_vehicles_plate_live",
            "workspace_id",
            "plate_number",
            unique=True,
            postgresql_where=sa.text("deleted_at IS NULL"),
        ),
        trigram("idx_vehicles_plate_trgm", "plate_number"),
        live("idx_vehicles_list", "workspace_id", "created_at", "id"),
        # Dispatch's nearest-first walk per workspace and type (btree_gist, migration 0016).
        sa.Index(
            "idx_vehicles_dispatch",
            "workspace_id",
            "vehicle_type",
            "last_location",
            postgresql_using="gist",
            postgresql_where=sa.text(
                "deleted_at IS NULL AND status = 'available'::vehicle_status"
                " AND last_location IS NOT NULL"
            ),
        ),
        sa.Index(
            "idx_vehicles_dispatch_types",
            "workspace_id",
            "vehicle_type",
            postgresql_where=sa.text(
                "deleted_at IS NULL AND status = 'available'::vehicle_status"
                " AND last_location IS NOT NULL"
            ),
        ),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    vehicle_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    capacity_kg: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    capacity_volume_m3: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    plate_number: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: VehicleStatus = Field(
        default=VehicleStatus.AVAILABLE,
        sa_column=pg_enum(
            VehicleStatus, "vehicle_status", nullable=False, server_default="available"
        ),
    )
    last_location: Any | None = Field(default=None, sa_column=point())
    last_location_at: datetime | None = Field(default=None, sa_column=timestamp())
    fuel_type: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    max_range_km: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=jsonb(name="metadata"))
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())


class Driver(SQLModel, table=True):
    __tablename__ = "drivers"
    __table_args__ = (
        sa.CheckConstraint("rating >= 0 AND rating <= 5", name="ck_drivers_rating"),
        sa.Index("idx_drivers_user", "user_id", unique=True),
        sa.Index("idx_drivers_license_index", "workspace_id", "license_number_index"),
        # A vehicle has at most one driver.
        sa.Index("idx_drivers_vehicle", "vehicle_id", unique=True),
        sa.Index(
            "idx_drivers_available",
            "availability",
            postgresql_where=sa.text("availability = true"),
        ),
        sa.Index("idx_drivers_workspace", "workspace_id"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    user_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    vehicle_id: UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("vehicles.id", ondelete="SET NULL")),
    )
    license_number: str = Field(
        sa_column=sa.Column(EncryptedText("drivers.license_number"), nullable=False)
    )
    # Keyed hash of the licence number: equality look-ups without decrypting every row.
    license_number_index: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    license_expiry: date | None = Field(default=None, sa_column=sa.Column(sa.Date))
    phone: str | None = Field(default=None, sa_column=sa.Column(EncryptedText("drivers.phone")))
    availability: bool = Field(
        default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true())
    )
    rating: float | None = Field(
        default=0.0, sa_column=sa.Column(sa.Float, server_default=sa.text("0.0"))
    )
    total_trips: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())


class Location(SQLModel, table=True):
    __tablename__ = "locations"
    __table_args__ = (
        live("idx_locations_workspace", "workspace_id"),
        gist("idx_locations_geo", "geo"),
        live("idx_locations_type", "workspace_id", "location_type"),
        trigram("idx_locations_name_trgm", "name"),
        live("idx_locations_list", "workspace_id", "created_at", "id"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    address: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    geo: Any = Field(sa_column=point(nullable=False))
    location_type: LocationType = Field(
        default=LocationType.CUSTOM,
        sa_column=pg_enum(LocationType, "location_type", nullable=False, server_default="custom"),
    )
    contact_info: dict[str, Any] | None = Field(
        default_factory=dict, sa_column=sa.Column(EncryptedJSON("locations.contact_info"))
    )
    operating_hours: dict[str, Any] | None = Field(
        default_factory=dict, sa_column=jsonb(nullable=True)
    )
    metadata_: dict[str, Any] = Field(default_factory=dict, sa_column=jsonb(name="metadata"))
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())
