"""`/api/v1/locations/*` over the location services, bulk import included."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.errors import ValidationFailed
from core.pagination import PageRequest
from models import Location
from models.enums import LocationType
from models.fleet_inputs import LocationCreate, LocationUpdate, NearbyQuery
from models.geo import GeoPoint
from models.permissions import Operation
from rest.auth import authorize, path_uuid
from rest.envelope import pagination, success
from rest.parsing import loads_json, parse_body, parse_query
from rest.queries import ListQuery
from rest.serialize import to_json
from services.fleet import imports, locations

MAX_IMPORT_BYTES = 10 * 1024 * 1024


class LocationListQuery(ListQuery):
    location_type: LocationType | None = None


class LocationNearQuery(NearbyQuery):
    location_type: LocationType | None = None


def location_json(location: Location) -> dict[str, Any]:
    geo = GeoPoint.of(location.geo)
    return {
        "id": str(location.id),
        "name": location.name,
        "address": location.address,
        "geo": geo.model_dump() if geo else None,
        "location_type": str(location.location_type),
        "contact_info": location.contact_info,
        "operating_hours": location.operating_hours,
        "metadata": location.metadata_,
        "created_at": to_json(location.created_at),
        "updated_at": to_json(location.updated_at),
    }


async def list_locations(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.LOCATION_LIST)
    query = parse_query(request, LocationListQuery)
    page = PageRequest(query.page, query.per_page)
    filters = locations.LocationFilter(
        location_type=query.location_type, search=query.search, bbox=query.bbox
    )
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await locations.list_locations(
            session=session, actor=actor, filters=filters, request=page
        )
        items = [location_json(loc) for loc in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def create_location(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.LOCATION_CREATE)
    data = await parse_body(request, LocationCreate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        location = await locations.create_location(session=session, actor=actor, data=data)
        body = location_json(location)
    return success(body, status_code=201)


async def get_location(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.LOCATION_READ)
    location_id = path_uuid(request, "location_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        location = await locations.get_location(
            session=session, actor=actor, location_id=location_id
        )
        body = location_json(location)
    return success(body)


async def update_location(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.LOCATION_UPDATE)
    location_id = path_uuid(request, "location_id")
    data = await parse_body(request, LocationUpdate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        location = await locations.update_location(
            session=session, actor=actor, location_id=location_id, data=data
        )
        body = location_json(location)
    return success(body)


async def delete_location(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.LOCATION_DELETE)
    location_id = path_uuid(request, "location_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        await locations.delete_location(session=session, actor=actor, location_id=location_id)
    return success({"id": str(location_id), "deleted": True})


async def near(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.LOCATION_LIST)
    query = parse_query(request, LocationNearQuery)
    async with request.app.state.db.session(actor.workspace_id) as session:
        found = await locations.locations_near(
            session=session, actor=actor, query=query, location_type=query.location_type
        )
        items = [{**location_json(loc), "distance_m": round(d, 2)} for loc, d in found]
    return success(items)


async def import_locations(request: Request) -> JSONResponse:
    """`text/csv` or a GeoJSON FeatureCollection (`application/geo+json` or JSON)."""
    actor = await authorize(request, Operation.LOCATION_IMPORT)
    raw = await request.body()
    if len(raw) > MAX_IMPORT_BYTES:
        raise ValidationFailed.field("file", f"larger than {MAX_IMPORT_BYTES // 1024 // 1024} MiB")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed.field("file", "must be UTF-8 text") from None
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("text/csv", "application/csv"):
        rows = imports.rows_from_csv(text)
    elif content_type in ("application/geo+json", "application/json"):
        rows = imports.rows_from_geojson(loads_json(text, field="file"))
    else:
        raise ValidationFailed.field("content-type", "send text/csv or application/geo+json")
    async with request.app.state.db.session(actor.workspace_id) as session:
        imported = await imports.import_locations(session=session, actor=actor, rows=rows)
        ids = [str(loc.id) for loc in imported]
    return success({"imported": len(ids), "ids": ids}, status_code=201)


routes: list[BaseRoute] = [
    Route("/locations", list_locations, methods=["GET"]),
    Route("/locations", create_location, methods=["POST"]),
    Route("/locations/near", near, methods=["GET"]),
    Route("/locations/import", import_locations, methods=["POST"]),
    Route("/locations/{location_id}", get_location, methods=["GET"]),
    Route("/locations/{location_id}", update_location, methods=["PATCH"]),
    Route("/locations/{location_id}", delete_location, methods=["DELETE"]),
]
