"""`/api/v1/vehicles/*` over the vehicle services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.pagination import PageRequest
from core.validation import Body
from models import Vehicle
from models.enums import VehicleStatus, VehicleType
from models.fleet_inputs import NearbyQuery, VehicleCreate, VehicleUpdate
from models.geo import GeoPoint
from models.permissions import Operation
from rest.auth import admitted, authorize, member_fetch, member_read, path_uuid
from rest.envelope import pagination, success
from rest.parsing import parse_body, parse_query
from rest.queries import ListQuery
from rest.serialize import to_json
from services.fleet import vehicle_reads, vehicles


class VehicleListQuery(ListQuery):
    status: VehicleStatus | None = None
    vehicle_type: VehicleType | None = None


class VehicleNearbyQuery(NearbyQuery):
    status: VehicleStatus | None = None


class HistoryQuery(Body):
    since: datetime | None = None
    until: datetime | None = None
    limit: int = Field(default=1000, ge=1, le=10_000)


def vehicle_json(vehicle: Vehicle) -> dict[str, Any]:
    location = GeoPoint.of(vehicle.last_location)
    return {
        "id": str(vehicle.id),
        "vehicle_type": vehicle.vehicle_type,
        "plate_number": vehicle.plate_number,
        "capacity_kg": vehicle.capacity_kg,
        "capacity_volume_m3": vehicle.capacity_volume_m3,
        "status": str(vehicle.status),
        "fuel_type": vehicle.fuel_type,
        "max_range_km": vehicle.max_range_km,
        "metadata": vehicle.metadata_,
        "last_location": location.model_dump() if location else None,
        "last_location_at": to_json(vehicle.last_location_at),
        "created_at": to_json(vehicle.created_at),
        "updated_at": to_json(vehicle.updated_at),
    }


async def list_vehicles(request: Request) -> JSONResponse:
    claims = await admitted(request)
    query = parse_query(request, VehicleListQuery)
    page = PageRequest(query.page, query.per_page)
    filters = vehicles.VehicleFilter(
        status=query.status, vehicle_type=query.vehicle_type, search=query.search, bbox=query.bbox
    )
    hot = vehicle_reads.PageQuery(filters, page)
    if hot.covered:
        rows = await member_fetch(
            request,
            claims,
            Operation.VEHICLE_LIST,
            vehicle_reads.PAGE,
            *vehicle_reads.page_args(hot),
        )
        found = vehicle_reads.vehicle_page_json(rows, hot)
        return success(
            found.items,
            pagination=pagination(page=page.page, per_page=page.per_page, total=found.total),
        )
    actor = await authorize(request, Operation.VEHICLE_LIST, admitted=claims)
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await vehicles.list_vehicles(
            session=session, actor=actor, filters=filters, request=page
        )
        items = [vehicle_json(v) for v in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def create_vehicle(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.VEHICLE_CREATE)
    data = await parse_body(request, VehicleCreate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        vehicle = await vehicles.create_vehicle(session=session, actor=actor, data=data)
        body = vehicle_json(vehicle)
    return success(body, status_code=201)


async def get_vehicle(request: Request) -> JSONResponse:
    claims = await admitted(request)
    vehicle_id = path_uuid(request, "vehicle_id")
    rows = await member_read(request, claims, Operation.VEHICLE_READ, vehicle_reads.ONE, vehicle_id)
    return success(vehicle_reads.vehicle_json(rows, vehicle_id))


async def update_vehicle(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.VEHICLE_UPDATE)
    vehicle_id = path_uuid(request, "vehicle_id")
    data = await parse_body(request, VehicleUpdate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        vehicle = await vehicles.update_vehicle(
            session=session, actor=actor, vehicle_id=vehicle_id, data=data
        )
        body = vehicle_json(vehicle)
    return success(body)


async def delete_vehicle(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.VEHICLE_DELETE)
    vehicle_id = path_uuid(request, "vehicle_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        await vehicles.delete_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    return success({"id": str(vehicle_id), "deleted": True})


async def nearby(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.VEHICLE_NEARBY)
    query = parse_query(request, VehicleNearbyQuery)
    async with request.app.state.db.session(actor.workspace_id) as session:
        found = await vehicles.nearby_vehicles(
            session=session, actor=actor, query=query, status=query.status
        )
        items = [{**vehicle_json(v), "distance_m": round(d, 2)} for v, d in found]
    return success(items)


async def live(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.VEHICLE_LIVE)
    vehicle_id = path_uuid(request, "vehicle_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        position = await vehicles.vehicle_live(session=session, actor=actor, vehicle_id=vehicle_id)
    return success(
        {
            "vehicle_id": str(position.vehicle_id),
            "position": position.position.model_dump() if position.position else None,
            "recorded_at": to_json(position.recorded_at),
            "age_s": round(position.age_s, 3) if position.age_s is not None else None,
        }
    )


async def history(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.VEHICLE_HISTORY)
    vehicle_id = path_uuid(request, "vehicle_id")
    query = parse_query(request, HistoryQuery)
    until = query.until or datetime.now(UTC)
    since = query.since or until - timedelta(hours=24)
    async with request.app.state.db.session(actor.workspace_id) as session:
        points = await vehicles.vehicle_history(
            session=session,
            actor=actor,
            vehicle_id=vehicle_id,
            since=since,
            until=until,
            limit=query.limit,
        )
    return success(
        [
            {
                "position": p.position.model_dump(),
                "recorded_at": to_json(p.recorded_at),
                "speed_kmh": p.speed_kmh,
                "heading": p.heading,
            }
            for p in points
        ]
    )


routes: list[BaseRoute] = [
    Route("/vehicles", list_vehicles, methods=["GET"]),
    Route("/vehicles", create_vehicle, methods=["POST"]),
    Route("/vehicles/nearby", nearby, methods=["GET"]),
    Route("/vehicles/{vehicle_id}", get_vehicle, methods=["GET"]),
    Route("/vehicles/{vehicle_id}", update_vehicle, methods=["PATCH"]),
    Route("/vehicles/{vehicle_id}", delete_vehicle, methods=["DELETE"]),
    Route("/vehicles/{vehicle_id}/live", live, methods=["GET"]),
    Route("/vehicles/{vehicle_id}/history", history, methods=["GET"]),
]
