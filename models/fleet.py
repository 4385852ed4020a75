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

# `present`: the types among a workspace's (:workspace_id) free vehicles with a position, by
# a skip scan of `idx_vehicles_dispatch_types` (one index descent per type).
FREE_TYPES = """WITH RECURSIVE present(vehicle_type) AS (
        (SELECT v.vehicle_type FROM vehicles v
         WHERE v.workspace_id = :workspace_id AND v.deleted_at IS NULL
           AND v.status = 'available' AND v.last_location IS NOT NULL
         ORDER BY v.vehicle_type LIMIT 1)
        UNION ALL
        SELECT (SELECT v.vehicle_type FROM vehicles v
                WHERE v.workspace_id = :workspace_id AND v.deleted_at IS NULL
                  AND v.status = 'available' AND v.last_location IS NOT NULL
                  AND v.vehicle_type > p.vehicle_type
                ORDER BY v.vehicle_type LIMIT 1)
        FROM present p WHERE p.vehicle_type IS NOT NULL
    )"""
# A free unit whose position has no snap made for it (migration 0027).
UNSNAPPED = (
    "deleted_at IS NULL AND status = 'available'::vehicle_status"
    " AND last_location IS NOT NULL AND (snap_edge IS NULL"
    " OR snap_lng IS DISTINCT FROM st_x(last_location::geometry)"
    " OR snap_lat IS DISTINCT FROM st_y(last_location::geometry))"
)


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
        # Dispatch by road: the free units snapped to the pieces of road near a scene.
        sa.Index(
            "idx_vehicles_snap",
            "workspace_id",
            "snap_version",
            "snap_mask",
            "snap_edge",
            "vehicle_type",
            postgresql_where=sa.text(
                "deleted_at IS NULL AND status = 'available'::vehicle_status"
                " AND snap_edge IS NOT NULL"
            ),
        ),
        # Free units whose position has no snap of its own (none yet, or moved since).
        sa.Index(
            "idx_vehicles_unsnapped",
            "workspace_id",
            postgresql_where=sa.text(UNSNAPPED),
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
    # The position's snap to the road network, written with it (migration 0027).
    snap_version: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    snap_mask: int | None = Field(default=None, sa_column=sa.Column(sa.SmallInteger))
    snap_edge: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    snap_fraction: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    snap_offset_m: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    snap_lng: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
    snap_lat: float | None = Field(default=None, sa_column=sa.Column(sa.Float))
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
