"""Vehicles, drivers and the drivers' users as plain rows, for the hot reads on plain
asyncpg connections (core.db.Database.read): the columns to select, and each row decoded
(the personal fields decrypted) into a record with the attributes the API's types read, as
the ORM models have them. The records are not frozen: a frozen dataclass sets each field
through object.__setattr__, five times the cost of building a plain one, and a page of a
hundred vehicles builds four hundred of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

from core.crypto import field_cipher
from models.enums import UserRole, UserStatus, VehicleStatus

# `v` the alias of vehicles; geometry decoded by PostGIS.
VEHICLE_COLUMNS = """v.id, v.vehicle_type, v.plate_number, v.capacity_kg, v.capacity_volume_m3,
    v.status::text AS status, v.fuel_type, v.max_range_km, v.metadata::text AS metadata,
    ST_X(v.last_location::geometry) AS lng, ST_Y(v.last_location::geometry) AS lat,
    v.last_location_at, v.created_at, v.updated_at"""
# Prefixed so that a statement can select a vehicle, its driver and the driver's user in
# one row (`d` and `u` the aliases of drivers and users).
DRIVER_COLUMNS = """d.id AS d_id, d.user_id AS d_user_id, d.vehicle_id AS d_vehicle_id,
    d.license_number AS d_license_number, d.license_expiry AS d_license_expiry,
    d.phone AS d_phone, d.availability AS d_availability, d.rating AS d_rating,
    d.total_trips AS d_total_trips"""
USER_COLUMNS = """u.id AS u_id, u.workspace_id AS u_workspace_id, u.email AS u_email,
    u.full_name AS u_full_name, u.role::text AS u_role, u.status::text AS u_status,
    u.last_login_at AS u_last_login_at, u.created_at AS u_created_at"""
# A driver's user as the ORM reads it: a deleted user is no user.
JOIN_USER = "LEFT JOIN users u ON u.id = d.user_id AND u.deleted_at IS NULL"


def _plain(stored: str | None, context: str) -> str | None:
    return None if stored is None else field_cipher().decrypt(stored, context=context)


@dataclass(slots=True)
class DriverRecord:
    id: UUID
    user_id: UUID
    vehicle_id: UUID | None
    license_number: str
    license_expiry: date | None
    phone: str | None
    availability: bool
    rating: float | None
    total_trips: int

    @classmethod
    def of(cls, row: Any) -> DriverRecord | None:
        """The driver of a row selected with DRIVER_COLUMNS; None where the join found none."""
        if row["d_id"] is None:
            return None
        return cls(
            id=row["d_id"],
            user_id=row["d_user_id"],
            vehicle_id=row["d_vehicle_id"],
            license_number=_plain(row["d_license_number"], "drivers.license_number") or "",
            license_expiry=row["d_license_expiry"],
            phone=_plain(row["d_phone"], "drivers.phone"),
            availability=row["d_availability"],
            rating=row["d_rating"],
            total_trips=row["d_total_trips"],
        )


@dataclass(slots=True)
class UserRecord:
    id: UUID
    workspace_id: UUID
    email: str
    full_name: str
    role: UserRole
    status: UserStatus
    last_login_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> UserRecord | None:
        """The user of a row selected with USER_COLUMNS; None where the join found none."""
        if row["u_id"] is None:
            return None
        return cls(
            id=row["u_id"],
            workspace_id=row["u_workspace_id"],
            email=row["u_email"],
            full_name=_plain(row["u_full_name"], "users.full_name") or "",
            role=UserRole(row["u_role"]),
            status=UserStatus(row["u_status"]),
            last_login_at=row["u_last_login_at"],
            created_at=row["u_created_at"],
        )


@dataclass(slots=True)
class VehicleRecord:
    id: UUID
    vehicle_type: str
    plate_number: str
    capacity_kg: int
    capacity_volume_m3: float | None
    status: VehicleStatus
    fuel_type: str | None
    max_range_km: float | None
    metadata_: dict[str, Any]
    lng: float | None
    lat: float | None
    last_location_at: datetime | None
    created_at: datetime
    updated_at: datetime | None

    @classmethod
    def of(cls, row: Any) -> VehicleRecord:
        """The vehicle of a row selected with VEHICLE_COLUMNS."""
        return cls(
            id=row["id"],
            vehicle_type=row["vehicle_type"],
            plate_number=row["plate_number"],
            capacity_kg=row["capacity_kg"],
            capacity_volume_m3=row["capacity_volume_m3"],
            status=VehicleStatus(row["status"]),
            fuel_type=row["fuel_type"],
            max_range_km=row["max_range_km"],
            # jsonb as text: asyncpg hands it over undecoded.
            metadata_=orjson.loads(row["metadata"]),
            lng=row["lng"],
            lat=row["lat"],
            last_location_at=row["last_location_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )


@dataclass(slots=True)
class VehicleWithDriver:
    """A vehicle with its driver and the driver's user, read by one statement."""

    vehicle: VehicleRecord
    driver: DriverRecord | None
    user: UserRecord | None

    @property
    def id(self) -> UUID:
        return self.vehicle.id

    @property
    def created_at(self) -> datetime:
        return self.vehicle.created_at
