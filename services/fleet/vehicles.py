"""Vehicles: CRUD, lists, nearest search and last known position."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound, ValidationFailed
from core.pagination import CursorRequest, Page, PageRequest
from core.principal import Principal
from models import LiveVehiclePosition, Vehicle
from models.enums import VehicleStatus, VehicleType
from models.fleet_inputs import BoundingBox, NearbyQuery, VehicleCreate, VehicleUpdate
from models.geo import GeoPoint
from services.audit import diff
from services.changes import record_change
from services.fleet.spatial import escape_like, nearest, within_bbox
from services.listing import paginate, violated_constraint

PLATE_TAKEN = "uq_vehicles_plate_live"
NULLABLE = {"capacity_volume_m3", "fuel_type", "max_range_km", "last_location"}


@dataclass(frozen=True, slots=True)
class VehicleFilter:
    status: VehicleStatus | None = None
    vehicle_type: VehicleType | None = None
    search: str | None = None
    bbox: BoundingBox | None = None


@dataclass(frozen=True, slots=True)
class LivePosition:
    vehicle_id: UUID
    position: GeoPoint | None
    recorded_at: datetime | None
    age_s: float | None


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    position: GeoPoint
    recorded_at: datetime
    speed_kmh: float | None
    heading: float | None


def _snapshot(vehicle: Vehicle) -> dict[str, Any]:
    location = GeoPoint.of(vehicle.last_location)
    return {
        "vehicle_type": str(vehicle.vehicle_type),
        "plate_number": vehicle.plate_number,
        "capacity_kg": vehicle.capacity_kg,
        "capacity_volume_m3": vehicle.capacity_volume_m3,
        "status": str(vehicle.status),
        "fuel_type": vehicle.fuel_type,
        "max_range_km": vehicle.max_range_km,
        "metadata": vehicle.metadata_,
        "last_location": list(location.coordinates) if location else None,
    }


async def _flush(session: AsyncSession) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        if violated_constraint(exc) == PLATE_TAKEN:
            raise ValidationFailed.field(
                "plate_number", "is already used by another vehicle of this workspace"
            ) from None
        raise


async def get_vehicle(*, session: AsyncSession, actor: Principal, vehicle_id: UUID) -> Vehicle:
    vehicle = await session.get(Vehicle, vehicle_id)
    if vehicle is None or vehicle.deleted_at is not None:
        raise NotFound.resource("Vehicle", vehicle_id)
    return vehicle


async def create_vehicle(
    *, session: AsyncSession, actor: Principal, data: VehicleCreate
) -> Vehicle:
    vehicle = Vehicle(
        workspace_id=actor.workspace_id,
        vehicle_type=data.vehicle_type.value,
        plate_number=data.plate_number,
        capacity_kg=data.capacity_kg,
        capacity_volume_m3=data.capacity_volume_m3,
        status=data.status,
        fuel_type=data.fuel_type.value if data.fuel_type else None,
        max_range_km=data.max_range_km,
        metadata_=data.metadata,
        last_location=data.last_location.to_wkt() if data.last_location else None,
        last_location_at=datetime.now(UTC) if data.last_location else None,
    )
    session.add(vehicle)
    await _flush(session)
    snapshot = _snapshot(vehicle)
    await record_change(
        session=session,
        actor=actor,
        action="vehicle.created",
        resource_type="vehicle",
        resource_id=vehicle.id,
        changes=snapshot,
    )
    await session.refresh(vehicle)
    return vehicle


async def update_vehicle(
    *, session: AsyncSession, actor: Principal, vehicle_id: UUID, data: VehicleUpdate
) -> Vehicle:
    vehicle = await get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    before = _snapshot(vehicle)
    for key, value in data.model_dump(exclude_unset=True, mode="json").items():
        if value is None and key not in NULLABLE:
            raise ValidationFailed.field(key, "cannot be null")
        if key == "last_location":
            vehicle.last_location = data.last_location.to_wkt() if data.last_location else None
            vehicle.last_location_at = datetime.now(UTC) if data.last_location else None
        elif key == "metadata":
            vehicle.metadata_ = value
        else:
            setattr(vehicle, key, value)
    vehicle.updated_at = datetime.now(UTC)
    session.add(vehicle)
    await _flush(session)
    changes = diff(before, _snapshot(vehicle))
    await record_change(
        session=session,
        actor=actor,
        action="vehicle.updated",
        resource_type="vehicle",
        resource_id=vehicle.id,
        changes=changes,
        event={"changes": changes},
    )
    await session.refresh(vehicle)
    return vehicle


async def delete_vehicle(*, session: AsyncSession, actor: Principal, vehicle_id: UUID) -> None:
    """Soft delete; the plate becomes free, history stays."""
    vehicle = await get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    vehicle.deleted_at = datetime.now(UTC)
    session.add(vehicle)
    await record_change(
        session=session,
        actor=actor,
        action="vehicle.deleted",
        resource_type="vehicle",
        resource_id=vehicle.id,
        changes={"plate_number": vehicle.plate_number},
    )


def _conditions(actor: Principal, filters: VehicleFilter) -> list[Any]:
    conditions: list[Any] = [
        col(Vehicle.workspace_id) == actor.workspace_id,
        col(Vehicle.deleted_at).is_(None),
    ]
    if filters.status is not None:
        conditions.append(col(Vehicle.status) == filters.status)
    if filters.vehicle_type is not None:
        conditions.append(col(Vehicle.vehicle_type) == filters.vehicle_type.value)
    if filters.search:
        conditions.append(col(Vehicle.plate_number).ilike(f"%{escape_like(filters.search)}%"))
    if filters.bbox is not None:
        conditions.append(within_bbox(Vehicle.last_location, filters.bbox))
    return conditions


async def list_vehicles(
    *,
    session: AsyncSession,
    actor: Principal,
    filters: VehicleFilter,
    request: PageRequest | CursorRequest,
) -> Page[Vehicle]:
    return await paginate(session, Vehicle, _conditions(actor, filters), request)


async def nearby_vehicles(
    *,
    session: AsyncSession,
    actor: Principal,
    query: NearbyQuery,
    status: VehicleStatus | None = None,
) -> list[tuple[Vehicle, float]]:
    """The `query.limit` vehicles nearest the point within `query.radius_m`, nearest first,
    with their distance in metres (on the spheroid)."""
    stmt, params = nearest(Vehicle, "last_location", actor.workspace_id, query, {"status": status})
    rows = (await session.execute(stmt, params)).all()
    return [(row[0], float(row[1])) for row in rows]


async def vehicle_live(
    *, session: AsyncSession, actor: Principal, vehicle_id: UUID
) -> LivePosition:
    vehicle = await get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    at = vehicle.last_location_at
    return LivePosition(
        vehicle_id=vehicle.id,
        position=GeoPoint.of(vehicle.last_location),
        recorded_at=at,
        age_s=(datetime.now(UTC) - at).total_seconds() if at else None,
    )


async def vehicle_history(
    *,
    session: AsyncSession,
    actor: Principal,
    vehicle_id: UUID,
    since: datetime,
    until: datetime,
    limit: int,
) -> list[HistoryPoint]:
    if until <= since:
        raise ValidationFailed.field("query.until", "must be after since")
    await get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    rows = await session.exec(
        select(LiveVehiclePosition)
        .where(
            LiveVehiclePosition.vehicle_id == vehicle_id,
            col(LiveVehiclePosition.recorded_at) >= since,
            col(LiveVehiclePosition.recorded_at) < until,
        )
        .order_by(col(LiveVehiclePosition.recorded_at))
        .limit(limit)
    )
    return [
        HistoryPoint(
            position=GeoPoint.of(row.position) or GeoPoint(coordinates=(0.0, 0.0)),
            recorded_at=row.recorded_at,
            speed_kmh=row.speed_kmh,
            heading=row.heading,
        )
        for row in rows
    ]
