"""The hot vehicle reads (one vehicle, a page of vehicles) as fixed prepared statements on a
plain connection (Database.read): no ORM objects, geometry decoded by PostGIS, each row
turned straight into the API's JSON. Filters the statements do not cover go through
services.fleet.vehicles, whose results these match field for field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import orjson

from core.errors import NotFound
from core.pagination import CursorRequest, Page, PageRequest
from models.fleet_records import (
    DRIVER_COLUMNS,
    USER_COLUMNS,
    VEHICLE_COLUMNS,
    DriverRecord,
    UserRecord,
    VehicleRecord,
    VehicleWithDriver,
)
from services.fleet.spatial import escape_like
from services.fleet.vehicles import VehicleFilter

# Migration 0029: one vehicle by id for many requests at once (Database.member_read), each
# row naming its request (ordinal) or the request's refusal.
ONE = f"""SELECT b.ordinal, b.refusal, b.role, {VEHICLE_COLUMNS}
FROM auth_read_vehicles($1, $2, $3, $4) b, LATERAL (SELECT (b.vehicle).*) v"""  # noqa: S608 (constants only)
# Migration 0026: the membership check, the scope and the page in one statement each, run
# with Database.member_fetch (their first three parameters the caller's).
# The page functions return whole rows; these laterals name their columns as the column
# lists expect (no table is read outside the function, so nothing runs before its scope).
_ROWS = "LATERAL (SELECT (p.vehicle).*) v"
# A page by offset, each row carrying the count of all that match (a row with no vehicle
# carries it past the last page).
PAGE = f"""SELECT {VEHICLE_COLUMNS}, p.total
FROM auth_read_vehicle_page($1, $2, $3, $4, $5, $6, $7, $8) p, {_ROWS}
ORDER BY v.created_at, v.id"""  # noqa: S608 (constants only)
# A Relay page (keyset after the cursor's (created_at, id)), each vehicle with its driver
# and the driver's user: a vehicle has at most one driver.
CURSOR = f"""SELECT {VEHICLE_COLUMNS}, {DRIVER_COLUMNS}, {USER_COLUMNS}, p.total
FROM auth_read_vehicle_cursor($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) p, {_ROWS},
    LATERAL (SELECT (p.driver).*) d, LATERAL (SELECT (p.driver_user).*) u
ORDER BY v.created_at, v.id"""  # noqa: S608 (constants only)


def vehicle_record_json(row: asyncpg.Record) -> dict[str, Any]:
    """One row of VEHICLE_COLUMNS as rest.vehicles.vehicle_json writes a Vehicle. The
    moments stay datetimes (UTC): core.jsontext renders them as to_json would, with `Z`."""
    lng = row["lng"]
    return {
        "id": str(row["id"]),
        "vehicle_type": row["vehicle_type"],
        "plate_number": row["plate_number"],
        "capacity_kg": row["capacity_kg"],
        "capacity_volume_m3": row["capacity_volume_m3"],
        "status": row["status"],
        "fuel_type": row["fuel_type"],
        "max_range_km": row["max_range_km"],
        # jsonb as text: asyncpg hands it over undecoded.
        "metadata": orjson.loads(row["metadata"]),
        "last_location": (
            None if lng is None else {"type": "Point", "coordinates": [lng, row["lat"]]}
        ),
        "last_location_at": row["last_location_at"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def vehicle_json(rows: list[asyncpg.Record], vehicle_id: UUID) -> dict[str, Any]:
    """The vehicle ONE read, as the API writes it; NotFound where it read none."""
    if not rows:
        raise NotFound.resource("Vehicle", vehicle_id)
    return vehicle_record_json(rows[0])


@dataclass(frozen=True, slots=True)
class PageQuery:
    """What the statements filter on; a bounding box is left to the ORM path."""

    filters: VehicleFilter
    request: PageRequest

    @property
    def covered(self) -> bool:
        return self.filters.bbox is None


def page_args(query: PageQuery) -> tuple[object, ...]:
    """PAGE's parameters after the caller's three."""
    return (*_filter_args(query.filters), query.request.per_page, query.request.offset)


def vehicle_page_json(rows: list[asyncpg.Record], query: PageQuery) -> Page[dict[str, Any]]:
    """PAGE's rows: a page of the workspace's live vehicles, oldest first, as the API
    writes them."""
    total = int(rows[0]["total"]) if rows else 0
    items = [vehicle_record_json(r) for r in rows if r["id"] is not None]
    return Page(items, total, has_next=query.request.offset + len(items) < total)


def _filter_args(filters: VehicleFilter) -> tuple[object, ...]:
    return (
        filters.status.value if filters.status is not None else None,
        filters.vehicle_type.value if filters.vehicle_type is not None else None,
        f"%{escape_like(filters.search)}%" if filters.search else None,
    )


@dataclass(frozen=True, slots=True)
class CursorQuery:
    """A Relay page of vehicles the statements cover (no bounding box), and whether the
    drivers and their users come with it."""

    filters: VehicleFilter
    request: CursorRequest
    with_drivers: bool = False

    @property
    def covered(self) -> bool:
        return self.filters.bbox is None


def cursor_args(query: CursorQuery) -> tuple[object, ...]:
    """CURSOR's parameters after the caller's three."""
    request = query.request
    after = request.position() or (None, None)
    return (*_filter_args(query.filters), *after, request.first + 1, request.with_total)


def vehicle_cursor_page(rows: list[asyncpg.Record], query: CursorQuery) -> Page[VehicleWithDriver]:
    """CURSOR's rows: a Relay page of the workspace's live vehicles, oldest first, as
    services.fleet.vehicles.list_vehicles reads it; with `query.with_drivers`, each
    vehicle's driver and the driver's user."""
    request = query.request
    total = int(rows[0]["total"]) if rows and request.with_total else 0
    found = [row for row in rows if row["id"] is not None]
    with_drivers = query.with_drivers
    items = [
        VehicleWithDriver(
            VehicleRecord.of(row),
            DriverRecord.of(row) if with_drivers else None,
            UserRecord.of(row) if with_drivers else None,
        )
        for row in found[: request.first]
    ]
    return Page(items, total, has_next=len(found) > request.first)
