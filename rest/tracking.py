"""`/api/v1/tracking/*`: position reports from drivers' phones and telematics, the latest
position of a vehicle, and the active route deviations."""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.errors import ValidationFailed
from models import RouteDeviation
from models.geo import GeoPoint
from models.permissions import Operation
from models.tracking_inputs import MAX_BATCH
from rest.auth import authorize, path_uuid
from rest.envelope import success
from rest.idempotency import idempotent
from rest.serialize import to_json
from services.tracking import ingest, live


async def _json(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass
    try:  # what orjson refuses but JSON from phones may hold: NaN, refused later per field
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError):
        raise ValidationFailed.field("body", "malformed JSON") from None


def _ack(result: ingest.Ingested) -> list[dict[str, Any]]:
    # The UUIDs and datetimes as they are: the envelope's encoder renders them (in C).
    return [
        {
            "index": index,
            "vehicle_id": p.vehicle_id,
            "recorded_at": p.recorded_at,
            "duplicate": not new,
        }
        for index, p, new in result.accepted
    ]


async def update(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.TRACKING_UPDATE)
    body = await _json(request)
    if not isinstance(body, dict):
        raise ValidationFailed.field("body", "expected a JSON object")
    state = request.app.state
    result = await ingest.ingest(writer=state.writer, actor=actor, reports=[body])
    ingest.raise_for_single(result)
    return success(_ack(result)[0], status_code=201)


async def batch(request: Request) -> JSONResponse:
    """Up to 1,000 positions (a phone that was offline): the good ones are stored and each
    bad one is reported by its index."""
    actor = await authorize(request, Operation.TRACKING_UPDATE)
    body = await _json(request)
    positions = body.get("positions") if isinstance(body, dict) else None
    if not isinstance(positions, list) or not positions:
        raise ValidationFailed.field("positions", "expected a non-empty list")
    if len(positions) > MAX_BATCH:
        raise ValidationFailed.field("positions", f"at most {MAX_BATCH} per batch")
    state = request.app.state
    result = await ingest.ingest(writer=state.writer, actor=actor, reports=positions)
    rejected = [
        {"index": r.index, "field": r.field, "reason": r.reason, "code": r.code}
        for r in result.rejected
    ]
    if not result.accepted:
        raise ValidationFailed(
            "No position of the batch was accepted", details={"rejected": rejected}
        )
    return success({"accepted": _ack(result), "rejected": rejected}, status_code=201)


async def vehicle(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.TRACKING_READ)
    vehicle_id = path_uuid(request, "vehicle_id")
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        latest = await live.latest_position(
            session=session, cache=state.cache, actor=actor, vehicle_id=vehicle_id
        )
    return success(to_json(latest))


def deviation_json(d: RouteDeviation) -> dict[str, Any]:
    point = GeoPoint.of(d.position)
    return {
        "id": str(d.id),
        "vehicle_id": str(d.vehicle_id),
        "route_id": str(d.route_id),
        "severity": d.severity,
        "distance_from_route_m": round(d.distance_m, 1),
        "max_distance_m": round(d.max_distance_m, 1),
        "position": point.model_dump() if point else None,
        "started_at": to_json(d.started_at),
        "updated_at": to_json(d.updated_at),
    }


async def deviations(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.TRACKING_DEVIATIONS)
    async with request.app.state.db.session(actor.workspace_id) as session:
        rows = await live.active_deviations(session=session, actor=actor)
        items = [deviation_json(d) for d in rows]
    return success(items)


routes: list[BaseRoute] = [
    Route("/tracking/update", update, methods=["POST"]),
    Route("/tracking/batch", idempotent(batch), methods=["POST"]),
    Route("/tracking/vehicle/{vehicle_id}", vehicle, methods=["GET"]),
    Route("/tracking/deviations", deviations, methods=["GET"]),
]
