"""`/api/v1/drivers/*` over the driver services."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.pagination import PageRequest
from core.validation import Body
from models import Driver
from models.fleet_inputs import DriverCreate, DriverUpdate
from models.permissions import Operation
from rest.auth import authorize, path_uuid
from rest.envelope import pagination, success
from rest.parsing import parse_body, parse_query
from rest.serialize import to_json
from services.fleet import drivers


class DriverListQuery(Body):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)
    available: bool | None = None
    # Exact match, through the number's keyed hash (the number itself is encrypted).
    license_number: str | None = Field(default=None, min_length=1, max_length=40)


def driver_json(driver: Driver) -> dict[str, Any]:
    return {
        "id": str(driver.id),
        "user_id": str(driver.user_id),
        "vehicle_id": str(driver.vehicle_id) if driver.vehicle_id else None,
        "license_number": driver.license_number,
        "license_expiry": to_json(driver.license_expiry),
        "phone": driver.phone,
        "availability": driver.availability,
        "rating": driver.rating,
        "total_trips": driver.total_trips,
        "created_at": to_json(driver.created_at),
        "updated_at": to_json(driver.updated_at),
    }


async def list_drivers(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.DRIVER_LIST)
    query = parse_query(request, DriverListQuery)
    page = PageRequest(query.page, query.per_page)
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await drivers.list_drivers(
            session=session,
            actor=actor,
            available=query.available,
            request=page,
            license_number=query.license_number,
        )
        items = [driver_json(d) for d in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def create_driver(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.DRIVER_CREATE)
    data = await parse_body(request, DriverCreate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        body = driver_json(await drivers.create_driver(session=session, actor=actor, data=data))
    return success(body, status_code=201)


async def get_driver(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.DRIVER_READ)
    driver_id = path_uuid(request, "driver_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        body = driver_json(
            await drivers.get_driver(session=session, actor=actor, driver_id=driver_id)
        )
    return success(body)


async def update_driver(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.DRIVER_UPDATE)
    driver_id = path_uuid(request, "driver_id")
    data = await parse_body(request, DriverUpdate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        driver = await drivers.update_driver(
            session=session, actor=actor, driver_id=driver_id, data=data
        )
        body = driver_json(driver)
    return success(body)


async def delete_driver(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.DRIVER_DELETE)
    driver_id = path_uuid(request, "driver_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        await drivers.delete_driver(session=session, actor=actor, driver_id=driver_id)
    return success({"id": str(driver_id), "deleted": True})


routes: list[BaseRoute] = [
    Route("/drivers", list_drivers, methods=["GET"]),
    Route("/drivers", create_driver, methods=["POST"]),
    Route("/drivers/{driver_id}", get_driver, methods=["GET"]),
    Route("/drivers/{driver_id}", update_driver, methods=["PATCH"]),
    Route("/drivers/{driver_id}", delete_driver, methods=["DELETE"]),
]
