"""`/api/v1/routes/*` and `/api/v1/jobs/*` over the routing services."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.pagination import PageRequest
from core.principal import Principal
from core.validation import Body
from models import OptimizationJob
from models.enums import JobStatus, RouteStatus
from models.permissions import Operation
from models.routing import plan_travel
from models.routing_inputs import FleetPlanRequest, OptimizeRequest, RouteCreate, RouteUpdate
from rest.auth import authorize, path_uuid
from rest.envelope import pagination, success
from rest.idempotency import idempotent
from rest.parsing import parse_body, parse_query
from rest.serialize import to_json
from services.routing import optimization, planning, routes
from services.routing.routes import RouteDetail


class RouteListQuery(Body):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)
    status: RouteStatus | None = None
    vehicle_id: UUID | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None


class OptimizeQuery(Body):
    wait: float = Field(default=0, ge=0, le=60, description="seconds to wait for the result")


def route_json(detail: RouteDetail) -> dict[str, Any]:
    route = detail.route
    return {
        "id": str(route.id),
        "name": route.name,
        "status": str(route.status),
        "vehicle_id": to_json(route.vehicle_id),
        "depot_location_id": to_json(route.depot_location_id),
        "optimization_mode": str(route.optimization_mode),
        "planned_start": to_json(route.planned_start),
        "distance_km": route.distance_km,
        "estimated_duration_minutes": route.estimated_duration_minutes,
        "actual_duration_minutes": route.actual_duration_minutes,
        "optimization_score": route.optimization_score,
        "constraints": route.constraints,
        "started_at": to_json(route.started_at),
        "completed_at": to_json(route.completed_at),
        "created_at": to_json(route.created_at),
        # UUIDs and datetimes as they are: the envelope's encoder renders them (in C).
        "stops": [
            {
                "id": stop.id,
                "stop_order": stop.stop_order,
                "location_id": stop.location_id,
                "location_name": stop.location_name,
                "geo": {"type": "Point", "coordinates": [stop.lng, stop.lat]},
                "load_kg": stop.load_kg,
                "service_time_minutes": stop.service_time_minutes,
                "time_window_start": stop.time_window_start,
                "time_window_end": stop.time_window_end,
                "arrival_eta": stop.arrival_eta,
                "departure_eta": stop.departure_eta,
                "completed": stop.completed,
                "notes": stop.notes,
            }
            for stop in detail.stops
        ],
        "path": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "geometry": {
                        "type": "LineString",
                        "coordinates": [[lng, lat] for lng, lat in leg.coordinates],
                    },
                    "properties": {"segment_index": leg.segment_index},
                }
                for leg in detail.paths
            ],
        },
    }


def _travel(result: dict[str, Any]) -> dict[str, Any]:
    """How a plan was priced: `travel_source` and the `travel` it was chosen with."""
    travel = plan_travel(result.get("travel"))
    return {"travel_source": travel["source"], "travel": travel}


def job_json(job: OptimizationJob) -> dict[str, Any]:
    result = job.result_data or {}
    travel = job.travel()
    return {
        "id": str(job.id),
        "route_id": to_json(job.route_id),
        "status": str(job.status),
        "solver_type": str(job.solver_type),
        "input_hash": job.input_hash,
        "cached": bool(result.get("cached")),
        "solution_quality_score": job.solution_quality_score,
        "execution_time_ms": job.execution_time_ms,
        "error_message": job.error_message,
        "retry_count": job.retry_count,
        "attempts": job.attempts,
        "progress": job.progress,
        "travel_source": travel["source"],
        "travel": travel,
        "result": {
            key: result.get(key)
            for key in (
                "solver",
                "backend",
                "distance_m",
                "duration_s",
                "elapsed_s",
                "gap",
                "lower_bound",
                "proven_optimal",
                "fallback_reason",
                "unassigned",
                "submitted_distance_m",
                "submitted_duration_s",
                "travel",
            )
        }
        if result
        else None,
        "created_at": to_json(job.created_at),
        "started_at": to_json(job.started_at),
        "completed_at": to_json(job.completed_at),
    }


async def _detail(request: Request, actor: Principal, route_id: UUID) -> dict[str, Any]:
    async with request.app.state.db.session(actor.workspace_id) as session:
        return route_json(
            await routes.route_detail(session=session, actor=actor, route_id=route_id)
        )


async def create_route(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_CREATE)
    data = await parse_body(request, RouteCreate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        route = await routes.create_route(session=session, actor=actor, data=data)
        body = route_json(
            await routes.route_detail(session=session, actor=actor, route_id=route.id)
        )
    return success(body, status_code=201)


async def list_routes(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_LIST)
    query = parse_query(request, RouteListQuery)
    page = PageRequest(query.page, query.per_page)
    filters = routes.RouteFilter(
        status=query.status,
        vehicle_id=query.vehicle_id,
        created_from=query.created_from,
        created_to=query.created_to,
    )
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await routes.list_routes(
            session=session, actor=actor, filters=filters, request=page
        )
        items = [
            {
                "id": str(r.id),
                "name": r.name,
                "status": str(r.status),
                "vehicle_id": to_json(r.vehicle_id),
                "distance_km": r.distance_km,
                "estimated_duration_minutes": r.estimated_duration_minutes,
                "optimization_score": r.optimization_score,
                "created_at": to_json(r.created_at),
            }
            for r in result.items
        ]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def get_route(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_READ)
    return success(await _detail(request, actor, path_uuid(request, "route_id")))


async def update_route(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_UPDATE)
    route_id = path_uuid(request, "route_id")
    data = await parse_body(request, RouteUpdate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        await routes.update_route(session=session, actor=actor, route_id=route_id, data=data)
        body = route_json(
            await routes.route_detail(session=session, actor=actor, route_id=route_id)
        )
    return success(body)


async def delete_route(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_DELETE)
    route_id = path_uuid(request, "route_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        await routes.delete_route(session=session, actor=actor, route_id=route_id)
    return success({"id": str(route_id), "deleted": True})


async def optimize(request: Request) -> JSONResponse:
    """202 with the job; or, with `?wait=S`, 200 with the optimized route when it is ready
    within S seconds (a cache hit is always answered at once)."""
    actor = await authorize(request, Operation.ROUTE_OPTIMIZE)
    route_id = path_uuid(request, "route_id")
    query = parse_query(request, OptimizeQuery)
    data = await parse_body(request, OptimizeRequest) if await request.body() else OptimizeRequest()
    state = request.app.state
    async with state.db.session(actor.workspace_id, generic_plans=True) as session:
        ticket = await optimization.request_optimization(
            session=session,
            actor=actor,
            route_id=route_id,
            data=data,
            cache=state.cache,
            queue=state.jobs,
        )
    # A cache hit is answered at once, with the route as it saved it.
    detail = route_json(ticket.detail) if ticket.detail is not None else None
    job = ticket.job
    if detail is None and query.wait > 0:
        job = await optimization.wait_for_job(
            db=state.db, actor=actor, job_id=job.id, timeout_s=query.wait
        )
        optimization.raise_if_failed(job)
        if job.status in (JobStatus.COMPLETED, JobStatus.TIMEOUT):
            detail = await _detail(request, actor, route_id)
    if detail is not None:
        return success({"job": job_json(job), "route": detail})
    return success({"job": job_json(job)}, status_code=202)


async def get_job(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_READ)
    job_id = path_uuid(request, "job_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        body = job_json(await optimization.get_job(session=session, actor=actor, job_id=job_id))
    return success(body)


async def cancel_job(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_OPTIMIZE)
    job_id = path_uuid(request, "job_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        body = job_json(await optimization.cancel_job(session=session, actor=actor, job_id=job_id))
    return success(body)


async def plan_fleet(request: Request) -> JSONResponse:
    """Spread stops over vehicles from one depot: draft routes plus what could not fit."""
    actor = await authorize(request, Operation.ROUTE_CREATE)
    data = await parse_body(request, FleetPlanRequest)
    async with request.app.state.db.session(actor.workspace_id) as session:
        plan = await planning.plan_fleet(session=session, actor=actor, data=data)
        created = [
            route_json(await routes.route_detail(session=session, actor=actor, route_id=r.id))
            for r in plan.routes
        ]
    return success(
        {
            "routes": created,
            "unassigned": plan.unassigned,
            "distance_km": round(plan.result["distance_m"] / 1000, 3),
            "solver": plan.result["solver"],
            **_travel(plan.result),
        },
        status_code=201,
    )


async def reoptimize(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.ROUTE_OPTIMIZE)
    route_id = path_uuid(request, "route_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        replan = await planning.reoptimize_route(session=session, actor=actor, route_id=route_id)
        body = route_json(
            await routes.route_detail(session=session, actor=actor, route_id=route_id)
        )
    return success({"route": body, "changes": to_json(replan.changes), **_travel(replan.result)})


def _transition(operation: Operation, action: Any) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        actor = await authorize(request, operation)
        route_id = path_uuid(request, "route_id")
        async with request.app.state.db.session(actor.workspace_id) as session:
            await action(session=session, actor=actor, route_id=route_id)
            body = route_json(
                await routes.route_detail(session=session, actor=actor, route_id=route_id)
            )
        return success(body)

    return endpoint


routes_: list[BaseRoute] = [
    Route("/routes", list_routes, methods=["GET"]),
    Route("/routes", create_route, methods=["POST"]),
    Route("/routes/plan", idempotent(plan_fleet), methods=["POST"]),
    Route("/routes/{route_id}", get_route, methods=["GET"]),
    Route("/routes/{route_id}", update_route, methods=["PATCH"]),
    Route("/routes/{route_id}", delete_route, methods=["DELETE"]),
    Route("/routes/{route_id}/optimize", idempotent(optimize), methods=["POST"]),
    Route("/routes/{route_id}/reoptimize", reoptimize, methods=["POST"]),
    Route(
        "/routes/{route_id}/deploy",
        _transition(Operation.ROUTE_DEPLOY, routes.deploy_route),
        methods=["POST"],
    ),
    Route(
        "/routes/{route_id}/complete",
        _transition(Operation.ROUTE_COMPLETE, routes.complete_route),
        methods=["POST"],
    ),
    Route(
        "/routes/{route_id}/cancel",
        _transition(Operation.ROUTE_UPDATE, routes.cancel_route),
        methods=["POST"],
    ),
    Route("/jobs/{job_id}", get_job, methods=["GET"]),
    Route("/jobs/{job_id}/cancel", cancel_job, methods=["POST"]),
]
