"""`/api/v1/incidents/*` over the incident and dispatch services."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.pagination import PageRequest
from core.validation import Body
from models import Incident, IncidentUnit
from models.enums import IncidentSeverity, IncidentStatus
from models.geo import GeoPoint
from models.operations_inputs import DispatchRequest, IncidentCreate, IncidentUpdate
from models.permissions import Operation
from rest.auth import authorize, path_uuid
from rest.envelope import pagination, success
from rest.idempotency import idempotent
from rest.parsing import parse_body, parse_query
from rest.serialize import to_json
from services.operations import dispatch, incidents
from services.operations.incidents import IncidentDetail


class IncidentListQuery(Body):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)
    status: IncidentStatus | None = None
    severity: IncidentSeverity | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    active: bool = Field(default=True, description="only incidents not yet resolved")


def unit_json(unit: IncidentUnit) -> dict[str, Any]:
    return {
        "vehicle_id": str(unit.vehicle_id),
        "route_id": str(unit.route_id) if unit.route_id else None,
        "dispatched_at": to_json(unit.dispatched_at),
        "eta": to_json(unit.eta),
        "distance_m": unit.distance_m,
        "on_scene_at": to_json(unit.on_scene_at),
        "cleared_at": to_json(unit.cleared_at),
    }


def incident_json(incident: Incident, units: list[IncidentUnit] | None = None) -> dict[str, Any]:
    location = GeoPoint.of(incident.location)
    body: dict[str, Any] = {
        "id": str(incident.id),
        "severity": str(incident.severity),
        "incident_type": incident.incident_type,
        "description": incident.description,
        "location": location.model_dump() if location else None,
        "status": str(incident.status),
        "response_sla_minutes": incident.response_sla_minutes,
        "sla_deadline": to_json(incident.sla_deadline),
        "sla_state": str(incident.sla_state),
        "assigned_vehicles": [str(v) for v in incident.assigned_vehicles or []],
        "reported_by": str(incident.reported_by) if incident.reported_by else None,
        "timeline": {
            "reported_at": to_json(incident.created_at),
            "dispatched_at": to_json(incident.dispatched_at),
            "first_on_scene_at": to_json(incident.first_on_scene_at),
            "resolved_at": to_json(incident.resolved_at),
            "closed_at": to_json(incident.closed_at),
        },
        "response_time_s": incident.response_time_s,
        "travel_time_s": incident.travel_time_s,
        "created_at": to_json(incident.created_at),
        "updated_at": to_json(incident.updated_at),
    }
    if units is not None:
        body["units"] = [unit_json(u) for u in units]
    return body


def detail_json(detail: IncidentDetail) -> dict[str, Any]:
    return incident_json(detail.incident, detail.units)


async def list_incidents(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.INCIDENT_LIST)
    query = parse_query(request, IncidentListQuery)
    page = PageRequest(query.page, query.per_page)
    filters = incidents.IncidentFilter(
        status=query.status,
        severity=query.severity,
        created_from=query.created_from,
        created_to=query.created_to,
        active_only=query.active and query.status is None,
    )
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await incidents.list_incidents(
            session=session, actor=actor, filters=filters, request=page
        )
        items = [incident_json(i) for i in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def create_incident(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.INCIDENT_CREATE)
    data = await parse_body(request, IncidentCreate)
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        incident = await dispatch.report_incident(
            session=session,
            actor=actor,
            data=data,
            max_position_age_s=state.settings.dispatch_max_position_age_s,
            hub=state.hub,
            clock=state.sla_clock,
        )
        body = incident_json(incident, [])
    return success(body, status_code=201)


async def get_incident(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.INCIDENT_READ)
    incident_id = path_uuid(request, "incident_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        detail = await incidents.incident_detail(
            session=session, actor=actor, incident_id=incident_id
        )
        body = detail_json(detail)
    return success(body)


async def update_incident(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.INCIDENT_UPDATE)
    incident_id = path_uuid(request, "incident_id")
    data = await parse_body(request, IncidentUpdate)
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        detail = await incidents.update_incident(
            session=session, actor=actor, incident_id=incident_id, data=data, hub=state.hub
        )
        body = detail_json(detail)
    return success(body)


def dispatch_json(result: dispatch.DispatchResult) -> dict[str, Any]:
    return {
        "incident": detail_json(result.detail),
        "requested": result.requested,
        "dispatched": len(result.chosen),
        "shortfall": max(0, result.shortfall),
        "message": result.message,
        "units": to_json(dispatch.result_units(result)),
        "sla_state": str(result.sla_state),
        "alternatives": to_json(result.alternatives),
    }


async def dispatch_incident(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.INCIDENT_DISPATCH)
    incident_id = path_uuid(request, "incident_id")
    raw = await request.body()
    data = await parse_body(request, DispatchRequest) if raw.strip() else DispatchRequest()
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        result = await dispatch.dispatch_incident(
            session=session,
            actor=actor,
            incident_id=incident_id,
            data=data,
            max_position_age_s=state.settings.dispatch_max_position_age_s,
            hub=state.hub,
        )
        body = dispatch_json(result)
    return success(body)


routes: list[BaseRoute] = [
    Route("/incidents", list_incidents, methods=["GET"]),
    Route("/incidents", idempotent(create_incident), methods=["POST"]),
    Route("/incidents/{incident_id}", get_incident, methods=["GET"]),
    Route("/incidents/{incident_id}", update_incident, methods=["PATCH"]),
    Route("/incidents/{incident_id}/dispatch", idempotent(dispatch_incident), methods=["POST"]),
]
