"""Optimization jobs: requested by the API, run by a worker, applied to the route.

The request builds the route's canonical problem and looks its hash up in the cache (6 h,
per workspace): a hit is applied at once. A miss creates a `pending` job, moves the route
to `optimizing` and hands the job to a worker after commit. The worker claims the job only
while it is `pending` (a second delivery does nothing), solves it, and saves the plan
unless the job was cancelled meanwhile.

Requests and saves run with generic plans (`Database.session(generic_plans=True)`):
planning the path and stop-order statements anew for each request's arrays of hundreds of
values took longer than running them (3 ms of a 200-stop hit).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.cache import Cache
from core.db import Database, after_commit
from core.errors import Conflict, NotFound, OptimizationFailed, ValidationFailed
from core.jobs import JobLeaseHeld, JobNotFound, JobQueue, ProgressChannel
from core.polling import poll
from core.principal import Principal
from models import Location, OptimizationJob, Route, RouteStop, Vehicle
from models.enums import JobStatus, RouteStatus, SolverType
from models.routing_inputs import OptimizeRequest, default_time_limit
from services.audit import record_audit
from services.events import emit
from services.roads.travel import choose_travel, provider_for
from services.routing import leases
from services.routing import problem as canon
from services.routing.paths import Line, leg_lines, replace_path
from services.routing.routes import (
    STOPS,
    PathLeg,
    RouteDetail,
    StopView,
    lng_lat,
    move,
    stop_view,
)
from solvers.hybrid import HybridParams, HybridReport, HybridSolver
from solvers.matrix import MatrixProvider
from solvers.selector import SelectorParams, solve_problem

log = logging.getLogger(__name__)

CACHE_TTL_S = 6 * 3600
# `route_id` as well as the ids, so that the join reads the route's stops rather than every
# stop the tenant policy lets through. One statement permutes the order: the uniqueness of
# (route_id, stop_order) is checked when it ends (migration 0010).
REORDER = text(
    """
    UPDATE route_stops AS s
    SET stop_order = x.position, arrival_eta = x.arrival, departure_eta = x.departure
    FROM unnest(CAST(:ids AS uuid[]), CAST(:orders AS int[]),
                CAST(:arrivals AS timestamptz[]), CAST(:departures AS timestamptz[]))
         AS x(id, position, arrival, departure)
    WHERE s.route_id = :route_id AND s.id = x.id
    """
)
FINAL_JOB = {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.TIMEOUT, JobStatus.CANCELLED}
PROGRESS_EVERY_S = 0.25
# A job that runs this much past its solver budget ends `timeout` (keeping its plan).
TIMEOUT_FACTOR = 2.0
TIMEOUT_GRACE_S = 5.0


@dataclass(frozen=True, slots=True)
class Ticket:
    job: OptimizationJob
    route: Route
    cached: bool
    # A cache hit's route as saved, built from what the request holds: what a read of the
    # route in the same transaction would return.
    detail: RouteDetail | None = None


@dataclass(frozen=True, slots=True)
class RouteInput:
    """A job's input, and the stops it was built from, in their submitted order."""

    job_input: dict[str, Any]
    stops: list[StopView]


@dataclass(frozen=True, slots=True)
class AppliedPlan:
    """What `apply_result` wrote: problem stop indexes in their new order with their ETAs,
    and the path's points."""

    order: list[int]
    arrivals: list[datetime | None]
    departures: list[datetime | None]
    points: list[tuple[float, float]]
    lines: list[Line]


def cache_key(workspace_id: UUID, digest: str) -> str:
    return f"opt:{workspace_id}:{digest}"


_DEPOT = aliased(Location, name="depot")
_VEHICLE_LNG, _VEHICLE_LAT = lng_lat(col(Vehicle.last_location))
_DEPOT_LNG, _DEPOT_LAT = lng_lat(col(_DEPOT.geo))
_REF_COLUMNS: tuple[Any, ...] = (
    col(Vehicle.id).label("vehicle_id"),
    col(Vehicle.deleted_at).label("vehicle_deleted_at"),
    col(Vehicle.vehicle_type),
    col(Vehicle.capacity_kg),
    col(Vehicle.capacity_volume_m3),
    col(Vehicle.max_range_km),
    _VEHICLE_LNG.label("vehicle_lng"),
    _VEHICLE_LAT.label("vehicle_lat"),
    col(_DEPOT.id).label("depot_id"),
    _DEPOT_LNG.label("depot_lng"),
    _DEPOT_LAT.label("depot_lat"),
)


def _with_refs(statement: Any) -> Any:
    return (
        statement.outerjoin(Vehicle, col(Vehicle.id) == col(Route.vehicle_id))
        .outerjoin(_DEPOT, col(_DEPOT.id) == col(Route.depot_location_id))
        .where(col(Route.id) == sa.bindparam("route_id", type_=sa.Uuid))
    )


# The route locked, with its vehicle and depot (or NULLs): one row, read once rather than
# joined onto each of its stops (which re-read them per stop: 2 ms of a 200-stop read).
# Loaded afresh even if the session holds the route, as a locking `session.get` would.
LOCKED_ROUTE = (
    _with_refs(sa.select(Route, *_REF_COLUMNS))
    .with_for_update(of=Route)
    .execution_options(populate_existing=True)
)
REFS = _with_refs(sa.select(*_REF_COLUMNS).select_from(Route))


async def locked_route(session: AsyncSession, route_id: UUID) -> tuple[Route, Any]:
    """A live route, locked as `get_route(lock=True)` does, and its vehicle and depot."""
    row = (await session.execute(LOCKED_ROUTE, {"route_id": route_id})).first()
    if row is None or row[0].deleted_at is not None:
        raise NotFound.resource("Route", route_id)
    route, refs = row[0], row
    if refs.vehicle_id != route.vehicle_id or refs.depot_id != route.depot_location_id:
        # The route changed while this waited for its lock: PostgreSQL joined its new row
        # to the vehicle and depot rows read before the wait. Read them again.
        refs = (await session.execute(REFS, {"route_id": route_id})).one()
    return route, refs


async def route_input(
    session: AsyncSession, route: Route, request: OptimizeRequest, refs: Any = None
) -> RouteInput:
    """`job_input_for_route`, with the stops as read for it; `refs` is the route's vehicle
    and depot as `locked_route` read them, or None to read them here."""
    if refs is None:
        refs = (await session.execute(REFS, {"route_id": route.id})).one()
    rows = (await session.execute(STOPS, {"route_id": route.id})).all()
    if not rows:
        raise ValidationFailed.field("stops", "a route needs at least one stop to optimize")
    if refs.vehicle_id is not None and refs.vehicle_deleted_at is not None:
        raise ValidationFailed.field("vehicle_id", "the route's vehicle was deleted")
    if refs.depot_id is not None:
        depot = (str(refs.depot_id), refs.depot_lng, refs.depot_lat)
    elif refs.vehicle_id is not None and refs.vehicle_lng is not None:
        depot = (f"vehicle:{refs.vehicle_id}", refs.vehicle_lng, refs.vehicle_lat)
    else:
        raise ValidationFailed.field(
            "depot_location_id", "set a depot, or a vehicle with a known position, to start from"
        )
    origin = (route.planned_start or datetime.now(UTC)).replace(microsecond=0)
    constraints = route.constraints or {}
    views = [stop_view(row) for row in rows]
    stops = [
        canon.StopSpec(
            location_id=str(stop.location_id),
            lng=stop.lng,
            lat=stop.lat,
            load_kg=float(stop.load_kg or 0),
            service_s=int(stop.service_time_minutes or 0) * 60,
            window=canon.window_seconds(origin, stop.time_window_start, stop.time_window_end),
        )
        for stop in views
    ]
    has_vehicle = refs.vehicle_id is not None
    vehicle_type = refs.vehicle_type if has_vehicle else "van"
    travel = await choose_travel(
        session,
        route.workspace_id,
        [depot, *((s.location_id, s.lng, s.lat) for s in stops)],
        [vehicle_type],
    )
    spec = canon.vehicle_spec(
        origin,
        constraints,
        vehicle_id=str(refs.vehicle_id) if has_vehicle else "vehicle",
        vehicle_type=vehicle_type,
        capacity_kg=float(refs.capacity_kg) if has_vehicle and refs.capacity_kg else None,
        capacity_m3=refs.capacity_volume_m3 if has_vehicle else None,
        max_range_km=refs.max_range_km if has_vehicle else None,
    )
    problem = canon.canonical_problem(
        mode=str(route.optimization_mode),
        optimize_for=str(constraints.get("optimize_for", "distance")),
        planned_start=origin,
        depot=depot,
        vehicles=[spec],
        stops=stops,
        travel=travel,
    )
    job_input = {
        "problem": problem,
        "route_stop_ids": [str(stop.id) for stop in views],
        "time_limit_s": request.time_limit_s or default_time_limit(len(stops)),
        "seed": request.seed,
    }
    return RouteInput(job_input, views)


async def job_input_for_route(
    session: AsyncSession, route: Route, request: OptimizeRequest
) -> dict[str, Any]:
    """A job's input: the route's canonical problem, its stop ids by index, the budget."""
    return (await route_input(session, route, request)).job_input


async def request_optimization(
    *,
    session: AsyncSession,
    actor: Principal,
    route_id: UUID,
    data: OptimizeRequest,
    cache: Cache,
    queue: JobQueue,
) -> Ticket:
    route, refs = await locked_route(session, route_id)
    # Nothing is written before the end: on a hit the route goes straight to `optimized`
    # in one UPDATE, and the job, audit and event rows go out in one flush.
    with session.no_autoflush:
        move(route, RouteStatus.OPTIMIZING)
        loaded = await route_input(session, route, data, refs)
        job_input = loaded.job_input
        digest = canon.input_hash(job_input["problem"])
        cached = await cache.get(cache_key(actor.workspace_id, digest))
        job = OptimizationJob(
            route_id=route.id,
            workspace_id=actor.workspace_id,
            solver_type=SolverType(str(route.optimization_mode)),
            input_hash=digest,
            input_data=job_input,
            requested_by=actor.user_id,
        )
        session.add_all([route, job])
        detail = None
        if cached is not None:
            cached = await _with_submitted_order(session, job_input, cached)
            now = datetime.now(UTC)
            job.status, job.started_at, job.completed_at = JobStatus.COMPLETED, now, now
            job.result_data = {**cached, "cached": True}
            job.execution_time_ms = 0
            job.solution_quality_score = canon.optimization_score(cached)
            # The stops were read under the route's lock just now: no need to check them again.
            plan = await apply_result(
                session=session,
                actor=actor,
                route=route,
                job=job,
                locked_stop_ids=[stop.id for stop in loaded.stops],
            )
            detail = _saved_detail(route, loaded.stops, plan)
        else:
            workspace_id = actor.workspace_id

            async def hand_over() -> None:
                await queue.enqueue_optimization(job.id, workspace_id)

            after_commit(session, hand_over)
        await record_audit(
            session=session,
            actor=actor,
            action="route.optimize_requested",
            resource_type="route",
            resource_id=route.id,
            changes={"job_id": str(job.id), "cached": cached is not None},
        )
    await session.flush()
    return Ticket(job=job, route=route, cached=cached is not None, detail=detail)


async def _with_submitted_order(
    session: AsyncSession, job_input: dict[str, Any], result: dict[str, Any]
) -> dict[str, Any]:
    """A result cached before plans carried the submitted order's duration gets it (and its
    distance, if missing too), timed on the travel matrix the solver priced it with."""
    if all(result.get(k) is not None for k in ("submitted_distance_m", "submitted_duration_s")):
        return result
    provider = await provider_for(session, job_input["problem"].get("travel"))
    problem, _ = await asyncio.to_thread(canon.priced_problem, job_input["problem"], provider)
    distance, duration = canon.submitted_order(problem)
    return {**result, "submitted_distance_m": distance, "submitted_duration_s": duration}


def _saved_detail(route: Route, stops: list[StopView], plan: AppliedPlan) -> RouteDetail:
    return RouteDetail(
        route,
        [
            stops[index].planned(position, arrival, departure)
            for position, (index, arrival, departure) in enumerate(
                zip(plan.order, plan.arrivals, plan.departures, strict=True), start=1
            )
        ],
        [PathLeg(i, line) for i, line in enumerate(plan.lines)],
    )


STOPS_CHANGED = "The route's stops changed while it was being optimized"


async def stops_unchanged(session: AsyncSession, route: Route, job: OptimizationJob) -> bool:
    """Whether the route still has exactly the stops the job was given."""
    current = set(
        (await session.exec(select(RouteStop.id).where(RouteStop.route_id == route.id))).all()
    )
    return current == {UUID(s) for s in job.input_data["route_stop_ids"]}


async def apply_result(
    *,
    session: AsyncSession,
    actor: Principal,
    route: Route,
    job: OptimizationJob,
    locked_stop_ids: list[UUID] | None = None,
) -> AppliedPlan:
    """Write the plan onto the route: stop order, ETAs, one straight leg per path segment,
    distance, duration and score; the route becomes `optimized`.

    `locked_stop_ids`: the route's stop ids in the job's order, when the caller has just
    read them under the route's lock; without them they are read here and must still be
    the job's."""
    result = job.result_data or {}
    job_input = job.input_data
    problem = job_input["problem"]
    origin = datetime.fromisoformat(problem["planned_start"])
    stop_ids = locked_stop_ids
    if stop_ids is None:
        stop_ids = [UUID(s) for s in job_input["route_stop_ids"]]
        if not await stops_unchanged(session, route, job):
            raise Conflict(STOPS_CHANGED)
    plan: dict[str, Any] = (
        result["routes"][0] if result.get("routes") else {"visits": [], "distance_m": 0}
    )
    visited = [v["stop"] for v in plan["visits"]]
    order = visited + [u["stop"] for u in result.get("unassigned", [])]
    timing = {v["stop"]: v for v in plan["visits"]}
    arrivals: list[datetime | None] = []
    departures: list[datetime | None] = []
    for index in order:
        visit = timing.get(index)
        window = problem["stops"][index]["window"]
        if visit is None:
            arrivals.append(None)
            departures.append(None)
        else:
            # A vehicle early for a window waits there: the ETA is when service can begin.
            start = max(visit["arrival"], window[0]) if window else visit["arrival"]
            arrivals.append(canon.at(origin, start))
            departures.append(canon.at(origin, visit["departure"]))
    depot = (problem["depot"]["lng"], problem["depot"]["lat"])
    legs = [(problem["stops"][i]["lng"], problem["stops"][i]["lat"]) for i in visited]
    points = [depot, *legs, depot]
    vehicle_types = sorted({v["type"] for v in problem["vehicles"]})
    lines = await leg_lines(session, problem.get("travel"), points, vehicle_types)
    await replace_path(session, route, points, lines)
    await session.execute(
        REORDER,
        {
            "route_id": route.id,
            "ids": [stop_ids[index] for index in order],
            "orders": list(range(1, len(order) + 1)),
            "arrivals": arrivals,
            "departures": departures,
        },
    )
    previous_distance_km = route.distance_km
    previous_minutes = (
        route.estimated_duration_minutes if previous_distance_km is not None else None
    )
    route.distance_km = round(plan["distance_m"] / 1000, 3)
    duration_s = plan.get("arrival", 0) - plan.get("departure", 0)
    route.estimated_duration_minutes = math.ceil(duration_s / 60) if plan["visits"] else 0
    route.optimization_score = canon.optimization_score(result)
    move(route, RouteStatus.OPTIMIZED)
    session.add(route)
    summary = {
        "job_id": str(job.id),
        "distance_km": route.distance_km,
        "estimated_duration_minutes": route.estimated_duration_minutes,
        "optimization_score": route.optimization_score,
        "unassigned": len(result.get("unassigned", [])),
        "solver": result.get("solver"),
        "cached": bool(result.get("cached")),
        # The figures the analytics read models fold, so that they never read live tables.
        "vehicle_id": route.vehicle_id,
        "stops": len(order),
        "distance_m": plan["distance_m"],
        "duration_s": duration_s if plan["visits"] else 0,
        "submitted_distance_m": result.get("submitted_distance_m"),
        "submitted_duration_s": result.get("submitted_duration_s"),
        "previous_distance_m": (
            round(previous_distance_km * 1000) if previous_distance_km is not None else None
        ),
        # The previous plan's duration as the route kept it, in whole minutes.
        "previous_duration_s": previous_minutes * 60 if previous_minutes is not None else None,
        "solve_time_ms": job.execution_time_ms,
    }
    emit(
        session=session,
        actor=actor,
        event_type="route.optimized",
        entity_type="route",
        entity_id=route.id,
        data=summary,
    )
    return AppliedPlan(order, arrivals, departures, points, lines)


async def get_job(*, session: AsyncSession, actor: Principal, job_id: UUID) -> OptimizationJob:
    job = await session.get(OptimizationJob, job_id)
    if job is None:
        raise NotFound.resource("Job", job_id)
    return job


async def cancel_job(*, session: AsyncSession, actor: Principal, job_id: UUID) -> OptimizationJob:
    """Stop waiting for a job: its route goes back to draft; a late result is discarded."""
    job = (
        await session.exec(
            select(OptimizationJob).where(OptimizationJob.id == job_id).with_for_update()
        )
    ).first()
    if job is None:
        raise NotFound.resource("Job", job_id)
    if job.status in FINAL_JOB:
        raise Conflict(f"The job is already {job.status.value}")
    job.status, job.completed_at = JobStatus.CANCELLED, datetime.now(UTC)
    session.add(job)
    route = await session.get(Route, job.route_id, with_for_update=True) if job.route_id else None
    if route is not None and route.status == RouteStatus.OPTIMIZING:
        move(route, RouteStatus.DRAFT)
        session.add(route)
    await record_audit(
        session=session,
        actor=actor,
        action="optimization.cancelled",
        resource_type="optimization_job",
        resource_id=job.id,
    )
    await session.flush()
    return job


async def wait_for_job(
    *, db: Database, actor: Principal, job_id: UUID, timeout_s: float
) -> OptimizationJob:
    """The job once final, or as it is when `timeout_s` runs out."""

    async def read() -> OptimizationJob:
        async with db.session(actor.workspace_id) as session:
            return await get_job(session=session, actor=actor, job_id=job_id)

    return await poll(
        read,
        lambda job: job.status in FINAL_JOB,
        timeout_s=timeout_s,
        first_pause_s=0.02,
        max_pause_s=0.05,
    )


def raise_if_failed(job: OptimizationJob) -> None:
    """A client waiting for a job that failed gets OPTIMIZATION_FAILED."""
    if job.status == JobStatus.FAILED:
        raise OptimizationFailed(
            "The optimization failed, the fallback solver too; the route is a draft again",
            details={"job_id": str(job.id), "error": job.error_message},
        )


def _solve(
    job_input: dict[str, Any], progress: Any, provider: MatrixProvider, engine: str = "auto"
) -> dict[str, Any]:
    """Solve a job's problem, priced by `provider`; hybrid and quantum routes get QAOA on
    top of the classical plan, within as much time again as the classical budget and never
    worse than it."""
    problem, unreachable = canon.priced_problem(job_input["problem"], provider)
    mode = job_input["problem"]["mode"]
    time_limit = float(job_input["time_limit_s"])
    reports: list[HybridReport] = []
    improver = (
        HybridSolver(HybridParams(budget_s=time_limit, allow_hybrid=True), on_report=reports.append)
        if mode != "classical"
        else None
    )
    solution = solve_problem(
        problem,
        time_limit=time_limit,
        seed=int(job_input["seed"]),
        mode=mode,
        params=SelectorParams(engine=engine, quantum=improver),  # type: ignore[arg-type]
        progress=progress,
    )
    result = canon.canonical_result(problem, solution, unreachable)
    result["travel"] = job_input["problem"].get("travel")
    if reports:
        result["quantum"] = reports[-1].summary()
    return result


async def _remember(cache: Cache, key: str, result: dict[str, Any], job_id: UUID) -> None:
    """Cache a result, or log why not: the plan is saved either way."""
    try:
        await cache.set(key, result, ttl_s=CACHE_TTL_S)
    except Exception as exc:
        log.warning("result not cached: %s", exc, extra={"job_id": str(job_id)})


async def claim_job(
    *, db: Database, job_id: UUID, workspace_id: UUID, lease_s: float = leases.DEFAULT_LEASE_S
) -> leases.Claim | None:
    """Move a `pending` job to `running` under a lease and return the claim; None when there
    is nothing to do (finished, cancelled, or failed here for losing too many workers).

    A `running` job whose lease ran out lost its worker: the claim takes it over. One whose
    lease still runs raises `JobLeaseHeld`; one this database does not hold, `JobNotFound`.
    """
    async with db.session(workspace_id) as session:
        job = (
            await session.exec(
                select(OptimizationJob).where(OptimizationJob.id == job_id).with_for_update()
            )
        ).first()
        if job is None:
            raise JobNotFound(job_id)
        now = datetime.now(UTC)
        if job.status == JobStatus.RUNNING:
            if job.lease_expires_at is not None and job.lease_expires_at > now:
                raise JobLeaseHeld(job_id, (job.lease_expires_at - now).total_seconds())
            if job.attempts >= leases.MAX_CLAIMS:
                await _give_up(session, job, f"the worker solving it stopped {job.attempts} times")
                return None
            log.warning(
                "taking over a job whose worker stopped",
                extra={"job_id": str(job_id), "attempt": job.attempts + 1},
            )
        elif job.status != JobStatus.PENDING:
            return None
        job.status, job.attempts = JobStatus.RUNNING, job.attempts + 1
        job.started_at = job.started_at or now
        job.lease_expires_at = leases.lease_until(lease_s)
        session.add(job)
        return leases.Claim(job_id, workspace_id, job.input_data, job.requested_by, job.attempts)


async def _give_up(session: AsyncSession, job: OptimizationJob, error: str) -> None:
    job.status, job.error_message = JobStatus.FAILED, f"OPTIMIZATION_FAILED: {error}"
    job.completed_at, job.lease_expires_at = datetime.now(UTC), None
    session.add(job)
    route = await session.get(Route, job.route_id, with_for_update=True) if job.route_id else None
    if route is not None and route.status == RouteStatus.OPTIMIZING:
        move(route, RouteStatus.DRAFT)
        session.add(route)
    emit(
        session=session,
        actor=Principal(job.requested_by or UUID(int=0), job.workspace_id, None, "system"),
        event_type="route.optimization_failed",
        entity_type="route",
        entity_id=job.route_id,
        data={"error": job.error_message, "job_id": str(job.id)},
    )


async def run_job(
    *,
    db: Database,
    cache: Cache,
    channel: ProgressChannel,
    job_id: UUID,
    workspace_id: UUID,
    lease_s: float = leases.DEFAULT_LEASE_S,
) -> JobStatus | None:
    """The worker's side. Returns the final status, or None when there was nothing to do."""
    claim = await claim_job(db=db, job_id=job_id, workspace_id=workspace_id, lease_s=lease_s)
    if claim is None:
        return None
    async with leases.keep_lease(db, claim, lease_s):
        return await _solve_and_save(db=db, cache=cache, channel=channel, claim=claim)


async def _solve_and_save(
    *, db: Database, cache: Cache, channel: ProgressChannel, claim: leases.Claim
) -> JobStatus | None:
    job_id, workspace_id = claim.job_id, claim.workspace_id
    job_input, requester = claim.input, claim.requested_by
    loop = asyncio.get_running_loop()
    last = [0.0]
    reports: set[asyncio.Future[None]] = set()

    async def report(best_cost: float, elapsed_s: float) -> None:
        latest = {"best_cost": best_cost, "elapsed_s": round(elapsed_s, 3)}
        await channel.publish(job_id, {"status": "running", **latest})
        # Kept on the job for those who poll it or subscribe mid-solve.
        async with db.session(workspace_id) as session:
            await session.execute(
                sa.update(OptimizationJob)
                .where(
                    col(OptimizationJob.id) == job_id,
                    col(OptimizationJob.status) == JobStatus.RUNNING,
                )
                .values(progress=latest)
            )

    def start_report(best_cost: float, elapsed_s: float) -> None:
        future = asyncio.ensure_future(report(best_cost, elapsed_s))
        reports.add(future)

    def progress(best_cost: float, elapsed_s: float) -> None:
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            loop.call_soon_threadsafe(start_report, best_cost, elapsed_s)

    async with db.session(workspace_id) as session:
        provider = await provider_for(session, job_input["problem"].get("travel"))
    started = time.monotonic()
    error: str | None = None
    result: dict[str, Any] | None = None
    try:
        result = await asyncio.to_thread(_solve, job_input, progress, provider)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        log.warning("solver failed, retrying with OR-Tools", extra={"job_id": str(job_id)})
        try:
            result = await asyncio.to_thread(_solve, job_input, progress, provider, "ortools")
        except Exception as again:
            error = f"{error}; fallback {type(again).__name__}: {again}"
    elapsed = time.monotonic() - started
    for outcome in await asyncio.gather(*reports, return_exceptions=True):
        if isinstance(outcome, Exception):
            log.warning("progress report failed: %s", outcome, extra={"job_id": str(job_id)})
    budget = float(job_input["time_limit_s"]) * TIMEOUT_FACTOR + TIMEOUT_GRACE_S
    async with db.session(workspace_id, generic_plans=True) as session:
        job = (
            await session.exec(
                select(OptimizationJob).where(OptimizationJob.id == job_id).with_for_update()
            )
        ).first()
        if job is None or job.status != JobStatus.RUNNING or job.attempts != claim.attempt:
            # Cancelled meanwhile, or taken over by another worker: this plan is discarded.
            return job.status if job else None
        if result is not None:
            # Cached before the job can be seen complete, so that the same stops submitted
            # as soon as it is are a hit.
            await _remember(cache, cache_key(workspace_id, job.input_hash), result, job_id)
        job.execution_time_ms = round(elapsed * 1000)
        job.completed_at, job.lease_expires_at = datetime.now(UTC), None
        job.error_message = error
        job.retry_count = 1 if error else 0
        route = (
            await session.get(Route, job.route_id, with_for_update=True) if job.route_id else None
        )
        actor = Principal(requester or UUID(int=0), workspace_id, None, "system")
        if (
            result is not None
            and route is not None
            and route.deleted_at is None
            and route.status == RouteStatus.OPTIMIZING
            and not await stops_unchanged(session, route, job)
        ):
            # The plan is for stops the route no longer has: it is not saved.
            result, error = None, STOPS_CHANGED
            job.error_message = f"OPTIMIZATION_FAILED: {error}"
        if result is None:
            job.status = JobStatus.FAILED
            if route is not None and route.status == RouteStatus.OPTIMIZING:
                move(route, RouteStatus.DRAFT)
                session.add(route)
            emit(
                session=session,
                actor=actor,
                event_type="route.optimization_failed",
                entity_type="route",
                entity_id=job.route_id,
                data={"error": error},
            )
        else:
            job.status = JobStatus.TIMEOUT if elapsed > budget else JobStatus.COMPLETED
            job.result_data = result
            job.solution_quality_score = canon.optimization_score(result)
            if (
                route is not None
                and route.deleted_at is None
                and route.status == RouteStatus.OPTIMIZING
            ):
                # The stops were just checked under the route's lock.
                await apply_result(
                    session=session,
                    actor=actor,
                    route=route,
                    job=job,
                    locked_stop_ids=[UUID(s) for s in job.input_data["route_stop_ids"]],
                )
        session.add(job)
        final = job.status
    await channel.publish(job_id, {"status": final.value, "elapsed_s": round(elapsed, 3)})
    return final
