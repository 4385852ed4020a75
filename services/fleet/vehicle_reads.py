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
    JOIN_USER,
    USER_COLUMNS,
    VEHICLE_COLUMNS,
    DriverRecord,
    UserRecord,
    VehicleRecord,
    VehicleWithDriver,
)
from services.fleet.spatial import escape_like
from services.fleet.vehicles import VehicleFilter

# Migration 0025: the membership check, the scope and the read in one statement, run with
# Database.member_fetch (its first three parameters the caller's).
ONE = f"SELECT {VEHICLE_COLUMNS} FROM auth_read_vehicle($1, $2, $3, $4) v"  # noqa: S608 (constants only)
# The workspace condition repeats the RLS policy's so the planner can use the index on it.
_MATCHING = """v.workspace_id = $1 AND v.deleted_at IS NULL
    AND ($2::vehicle_status IS NULL OR v.status = $2::vehicle_status)
    AND ($3::text IS NULL OR v.vehicle_type = $3::text)
    AND ($4::text IS NULL OR v.plate_number ILIKE $4::text)"""
# The total rides along with the page (count(*) OVER ()): one statement per page.
_PAGE = f"""SELECT {VEHICLE_COLUMNS}, count(*) OVER () AS total FROM vehicles v
WHERE {_MATCHING} ORDER BY v.created_at, v.id LIMIT $5 OFFSET $6"""  # noqa: S608 (constants only)
_COUNT = f"SELECT count(*) FROM vehicles v WHERE {_MATCHING}"  # noqa: S608 (constants only)
# A Relay page (keyset after the cursor's (created_at, id)), with each vehicle's driver and
# the driver's user where the query asks for them: a vehicle has at most one driver.
_AFTER = "AND ($5::timestamptz IS NULL OR (v.created_at, v.id) > ($5::timestamptz, $6::uuid))"
_CURSOR_PAGE = f"""SELECT {VEHICLE_COLUMNS} FROM vehicles v
WHERE {_MATCHING} {_AFTER} ORDER BY v.created_at, v.id LIMIT $7"""  # noqa: S608 (constants only)
_CURSOR_PAGE_WITH_DRIVERS = f"""SELECT {VEHICLE_COLUMNS}, {DRIVER_COLUMNS}, {USER_COLUMNS}
FROM vehicles v LEFT JOIN drivers d ON d.vehicle_id = v.id {JOIN_USER}
WHERE {_MATCHING} {_AFTER} ORDER BY v.created_at, v.id LIMIT $7"""  # noqa: S608 (constants only)


def _moment(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def vehicle_record_json(row: asyncpg.Record) -> dict[str, Any]:
    """One row of VEHICLE_COLUMNS as rest.vehicles.vehicle_json writes a Vehicle."""
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
        "last_location_at": _moment(row["last_location_at"]),
        "created_at": _moment(row["created_at"]),
        "updated_at": _moment(row["updated_at"]),
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


async def vehicle_page_json(
    *, conn: asyncpg.Connection, workspace_id: UUID, query: PageQuery
) -> Page[dict[str, Any]]:
    """A page of the workspace's live vehicles, oldest first, as the API writes them."""
    filters, request = query.filters, query.request
    args = _filter_args(workspace_id, filters)
    rows = await conn.fetch(_PAGE, *args, request.per_page, request.offset)
    # Past the last page there is no row to carry the total: count it alone.
    if rows:
        total = int(rows[0]["total"])
    else:
        total = int(await conn.fetchval(_COUNT, *args)) if request.offset else 0
    items = [vehicle_record_json(r) for r in rows]
    return Page(items, total, has_next=request.offset + len(items) < total)


def _filter_args(workspace_id: UUID, filters: VehicleFilter) -> tuple[object, ...]:
    return (
        workspace_id,
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


async def vehicle_cursor_page(
    *, conn: asyncpg.Connection, workspace_id: UUID, query: CursorQuery
) -> Page[VehicleWithDriver]:
    """A Relay page of the workspace's live vehicles, oldest first, as
    services.fleet.vehicles.list_vehicles reads it; with `query.with_drivers`, each
    vehicle's driver and the driver's user from the same statement."""
    request = query.request
    args = _filter_args(workspace_id, query.filters)
    total = int(await conn.fetchval(_COUNT, *args)) if request.with_total else 0
    after = request.position() or (None, None)
    statement = _CURSOR_PAGE_WITH_DRIVERS if query.with_drivers else _CURSOR_PAGE
    rows = await conn.fetch(statement, *args, *after, request.first + 1)
    items = [
        VehicleWithDriver(
            VehicleRecord.of(row),
            DriverRecord.of(row) if query.with_drivers else None,
            UserRecord.of(row) if query.with_drivers else None,
        )
        for row in rows[: request.first]
    ]
    return Page(items, total, has_next=len(rows) > request.first)
