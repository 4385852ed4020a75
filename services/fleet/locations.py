"""Locations: the places stops, depots and incidents refer to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import NotFound, ValidationFailed
from core.pagination import CursorRequest, Page, PageRequest
from core.principal import Principal
from models import Location
from models.enums import LocationType
from models.fleet_inputs import BoundingBox, LocationCreate, LocationUpdate, NearbyQuery
from models.geo import GeoPoint
from services.audit import diff
from services.changes import record_change
from services.fleet.spatial import escape_like, nearest, within_bbox
from services.listing import paginate


@dataclass(frozen=True, slots=True)
class LocationFilter:
    location_type: LocationType | None = None
    search: str | None = None
    bbox: BoundingBox | None = None


def snapshot(location: Location) -> dict[str, Any]:
    geo = GeoPoint.of(location.geo)
    return {
        "name": location.name,
        "address": location.address,
        "geo": list(geo.coordinates) if geo else None,
        "location_type": str(location.location_type),
        "contact_info": location.contact_info,
        "operating_hours": location.operating_hours,
        "metadata": location.metadata_,
    }


def new_location(actor: Principal, data: LocationCreate) -> Location:
    return Location(
        workspace_id=actor.workspace_id,
        name=data.name,
        address=data.address,
        geo=data.geo.to_wkt(),
        location_type=data.location_type,
        contact_info=data.contact_info.model_dump(exclude_none=True),
        operating_hours=data.operating_hours,
        metadata_=data.metadata,
    )


async def get_location(*, session: AsyncSession, actor: Principal, location_id: UUID) -> Location:
    location = await session.get(Location, location_id)
    if location is None or location.deleted_at is not None:
        raise NotFound.resource("Location", location_id)
    return location


async def create_location(
    *, session: AsyncSession, actor: Principal, data: LocationCreate
) -> Location:
    location = new_location(actor, data)
    session.add(location)
    await session.flush()
    state = snapshot(location)
    await record_change(
        session=session,
        actor=actor,
        action="location.created",
        resource_type="location",
        resource_id=location.id,
        changes=state,
    )
    await session.refresh(location)
    return location


async def update_location(
    *, session: AsyncSession, actor: Principal, location_id: UUID, data: LocationUpdate
) -> Location:
    location = await get_location(session=session, actor=actor, location_id=location_id)
    before = snapshot(location)
    for key, value in data.model_dump(exclude_unset=True, mode="json").items():
        if value is None and key not in ("address",):
            raise ValidationFailed.field(key, "cannot be null")
        if key == "geo" and data.geo is not None:
            location.geo = data.geo.to_wkt()
        elif key == "metadata":
            location.metadata_ = value
        elif key == "contact_info" and data.contact_info is not None:
            location.contact_info = data.contact_info.model_dump(exclude_none=True)
        else:
            setattr(location, key, value)
    location.updated_at = datetime.now(UTC)
    session.add(location)
    await session.flush()
    changes = diff(before, snapshot(location))
    await record_change(
        session=session,
        actor=actor,
        action="location.updated",
        resource_type="location",
        resource_id=location.id,
        changes=changes,
        event={"changes": changes},
    )
    await session.refresh(location)
    return location


async def delete_location(*, session: AsyncSession, actor: Principal, location_id: UUID) -> None:
    location = await get_location(session=session, actor=actor, location_id=location_id)
    location.deleted_at = datetime.now(UTC)
    session.add(location)
    await record_change(
        session=session,
        actor=actor,
        action="location.deleted",
        resource_type="location",
        resource_id=location.id,
        changes={"name": location.name},
    )


def _conditions(actor: Principal, filters: LocationFilter) -> list[Any]:
    conditions: list[Any] = [
        col(Location.workspace_id) == actor.workspace_id,
        col(Location.deleted_at).is_(None),
    ]
    if filters.location_type is not None:
        conditions.append(col(Location.location_type) == filters.location_type)
    if filters.search:
        conditions.append(col(Location.name).ilike(f"%{escape_like(filters.search)}%"))
    if filters.bbox is not None:
        conditions.append(within_bbox(Location.geo, filters.bbox))
    return conditions


async def list_locations(
    *,
    session: AsyncSession,
    actor: Principal,
    filters: LocationFilter,
    request: PageRequest | CursorRequest,
) -> Page[Location]:
    return await paginate(session, Location, _conditions(actor, filters), request)


async def locations_near(
    *,
    session: AsyncSession,
    actor: Principal,
    query: NearbyQuery,
    location_type: LocationType | None = None,
) -> list[tuple[Location, float]]:
    stmt, params = nearest(
        Location, "geo", actor.workspace_id, query, {"location_type": location_type}
    )
    return [(row[0], float(row[1])) for row in (await session.execute(stmt, params)).all()]
