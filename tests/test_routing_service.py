"""The routing services on a real database: the status machine, the result cache, repeated
deliveries, cancellation, timeouts, the solver fallback, unassigned stops and ETAs.

Jobs are run by calling `run_job` directly; tests/test_routing_flow.py covers the worker.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from redis.asyncio import Redis
from sqlalchemy import text

from core.cache import RedisCache
from core.db import Database, create_engine
from core.errors import Conflict
from core.events import InMemoryBus
from core.jobs import JobLeaseHeld
from core.principal import Principal
from models import Organization, User, Workspace
from models.enums import JobStatus, RouteStatus, UserRole, UserStatus, VehicleStatus
from models.fleet_inputs import LocationCreate, VehicleCreate
from models.routing_inputs import OptimizeRequest, RouteCreate, RouteUpdate
from services.fleet.locations import create_location
from services.fleet.vehicles import create_vehicle, get_vehicle
from services.routing import optimization, routes
from services.routing.optimization import Ticket
from tests.conftest import DatabaseUnderTest
from tests.routing_helpers import CUSTOMERS, DEPOT

START = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


class RecordingQueue:
    """Stands in for the broker: remembers what was handed over."""

    def __init__(self) -> None:
        self.sent: list[tuple[UUID, UUID]] = []

    async def enqueue_optimization(self, job_id: UUID, workspace_id: UUID) -> None:
        self.sent.append((job_id, workspace_id))


@dataclass
class RecordingChannel:
    messages: list[dict[str, object]] = field(default_factory=list)

    async def publish(self, job_id: UUID, message: dict[str, object]) -> None:
        self.messages.append(message)


def _place(lng: float, lat: float) -> LocationCreate:
    return LocationCreate.model_validate(
        {"name": f"{lng},{lat}", "geo": {"lng": lng, "lat": lat}, "location_type": "customer"}
    )


def _van(plate: str) -> VehicleCreate:
    return VehicleCreate.model_validate(
        {"vehicle_type": "van", "plate_number": plate, "capacity_kg": 1000}
    )


@dataclass
class World:
    db: Database
    actor: Principal
    depot: UUID
    customers: list[UUID]
    van: UUID
    cache: RedisCache
    queue: RecordingQueue

    async def call(self, action: Callable[..., Awaitable[Any]], **kwargs: Any) -> Any:
        """One service call in its own committed transaction, as a request would make it."""
        async with self.db.session(self.actor.workspace_id) as session:
            return await action(session=session, actor=self.actor, **kwargs)

    async def sql(self, query: str, **params: Any) -> list[Any]:
        async with self.db.session(self.actor.workspace_id) as session:
            return list((await session.execute(text(query), params)).all())

    async def location(self, lng: float, lat: float) -> UUID:
        return (await self.call(create_location, data=_place(lng, lat))).id

    async def places(self, n: int) -> list[UUID]:
        """`n` customers scattered over the city, in one transaction."""
        async with self.db.session(self.actor.workspace_id) as session:
            return [
                (
                    await create_location(
                        session=session,
                        actor=self.actor,
                        data=_place(77.45 + (i * 7 % 40) * 0.008, 12.85 + (i * 11 % 40) * 0.006),
                    )
                ).id
                for i in range(n)
            ]

    async def vehicle(self, plate: str) -> UUID:
        return (await self.call(create_vehicle, data=_van(plate))).id

    async def route(self, stops: list[dict[str, Any]] | None = None, **changes: Any) -> UUID:
        body: dict[str, Any] = {
            "name": "Morning run",
            "vehicle_id": self.van,
            "depot_location_id": self.depot,
            "planned_start": START,
            "stops": stops
            if stops is not None
            else [
                {"location_id": c, "load_kg": 50, "service_time_minutes": 5}
                for c in self.customers[:4]
            ],
            **changes,
        }
        route = await self.call(routes.create_route, data=RouteCreate.model_validate(body))
        return route.id

    async def optimize(self, route_id: UUID, **request: Any) -> Ticket:
        ticket: Ticket = await self.call(
            optimization.request_optimization,
            route_id=route_id,
            data=OptimizeRequest(**request),
            cache=self.cache,
            queue=self.queue,
        )
        return ticket

    async def run(self, job_id: UUID, channel: Any = None) -> JobStatus | None:
        return await optimization.run_job(
            db=self.db,
            cache=self.cache,
            channel=channel or RecordingChannel(),
            job_id=job_id,
            workspace_id=self.actor.workspace_id,
        )

    async def optimized(self, route_id: UUID, **request: Any) -> Ticket:
        ticket = await self.optimize(route_id, **request)
        if not ticket.cached:
            assert await self.run(ticket.job.id) == JobStatus.COMPLETED
        return ticket

    async def detail(self, route_id: UUID) -> routes.RouteDetail:
        detail: routes.RouteDetail = await self.call(routes.route_detail, route_id=route_id)
        return detail

    async def job(self, job_id: UUID) -> Any:
        return await self.call(optimization.get_job, job_id=job_id)

    async def status(self, route_id: UUID) -> RouteStatus:
        return (await self.detail(route_id)).route.status

    async def paths(self, route_id: UUID) -> int:
        rows = await self.sql("SELECT count(*) FROM route_paths WHERE route_id = :r", r=route_id)
        return int(rows[0][0])


@pytest.fixture
async def w(database: DatabaseUnderTest, redis: Redis) -> AsyncIterator[World]:
    engine = create_engine(database.settings)
    db = Database(engine, InMemoryBus())
    org = Organization(name="Acme Freight", slug=f"acme-{uuid.uuid4().hex[:8]}")
    workspace = Workspace(organization_id=org.id, name="Main", region="ap-south-1")
    async with db.session(workspace.id, organization_id=org.id) as session:
        session.add(org)
        await session.flush()
        session.add(workspace)
        await session.flush()
        user = User(
            workspace_id=workspace.id,
            email="ops@example.com",
            password_hash="unused",
            full_name="Ops",
            role=UserRole.ADMIN,
            status=UserStatus.ACTIVE,
        )
        session.add(user)
    actor = Principal(user.id, workspace.id, org.id, UserRole.ADMIN.value)
    async with db.session(workspace.id) as session:
        places = [
            await create_location(session=session, actor=actor, data=_place(lng, lat))
            for lng, lat in [DEPOT, *CUSTOMERS]
        ]
        van = await create_vehicle(session=session, actor=actor, data=_van("RT-1"))
    customers = [p.id for p in places[1:]]
    w = World(db, actor, places[0].id, customers, van.id, RedisCache(redis), RecordingQueue())
    try:
        yield w
    finally:
        await engine.dispose()


async def conflict(w: World, action: Callable[..., Awaitable[Any]], **kwargs: Any) -> None:
    with pytest.raises(Conflict):
        await w.call(action, **kwargs)


# The status machine


async def test_status_machine_allows_its_transitions_and_refuses_the_rest(w: World) -> None:
    edit = RouteUpdate(name="Renamed")
    transitions = (routes.deploy_route, routes.complete_route)

    # draft: editable; cannot be deployed or completed before it is optimized.
    draft = await w.route()
    assert (await w.call(routes.update_route, route_id=draft, data=edit)).name == "Renamed"
    for action in transitions:
        await conflict(w, action, route_id=draft)
    assert await w.status(draft) == RouteStatus.DRAFT

    # optimizing: no edits, no second optimization, no deploy or completion.
    ticket = await w.optimize(draft, time_limit_s=1)
    assert await w.status(draft) == RouteStatus.OPTIMIZING
    await conflict(w, routes.update_route, route_id=draft, data=edit)
    with pytest.raises(Conflict):
        await w.optimize(draft)
    for action in transitions:
        await conflict(w, action, route_id=draft)
    assert await w.run(ticket.job.id) == JobStatus.COMPLETED

    # optimized: no edits or completion; may be optimized again, then deployed.
    assert await w.status(draft) == RouteStatus.OPTIMIZED
    await conflict(w, routes.update_route, route_id=draft, data=edit)
    await conflict(w, routes.complete_route, route_id=draft)
    again = await w.optimize(draft)
    assert await w.status(draft) == RouteStatus.OPTIMIZING
    await w.run(again.job.id)
    deployed = await w.call(routes.deploy_route, route_id=draft)
    assert deployed.status == RouteStatus.DEPLOYED
    assert (await w.call(get_vehicle, vehicle_id=w.van)).status == VehicleStatus.IN_TRANSIT

    # deployed: no edits, optimizing, second deploy or deletion; completes.
    await conflict(w, routes.update_route, route_id=draft, data=edit)
    with pytest.raises(Conflict):
        await w.optimize(draft)
    await conflict(w, routes.deploy_route, route_id=draft)
    await conflict(w, routes.delete_route, route_id=draft)
    done = await w.call(routes.complete_route, route_id=draft)
    assert done.status == RouteStatus.COMPLETED and done.completed_at is not None
    assert (await w.call(get_vehicle, vehicle_id=w.van)).status == VehicleStatus.AVAILABLE

    # completed and cancelled are final.
    cancelled = await w.route()
    assert (await w.call(routes.cancel_route, route_id=cancelled)).status == RouteStatus.CANCELLED
    for final in (draft, cancelled):
        await conflict(w, routes.update_route, route_id=final, data=edit)
        for action in (routes.deploy_route, routes.complete_route, routes.cancel_route):
            await conflict(w, action, route_id=final)
        with pytest.raises(Conflict):
            await w.optimize(final)
    assert await w.status(draft) == RouteStatus.COMPLETED
    assert await w.status(cancelled) == RouteStatus.CANCELLED


async def test_deployed_route_can_be_cancelled_and_frees_its_vehicle(w: World) -> None:
    route_id = await w.route()
    await w.optimized(route_id)
    await w.call(routes.deploy_route, route_id=route_id)
    cancelled = await w.call(routes.cancel_route, route_id=route_id)
    assert cancelled.status == RouteStatus.CANCELLED
    assert (await w.call(get_vehicle, vehicle_id=w.van)).status == VehicleStatus.AVAILABLE


async def test_concurrent_requests_on_one_route_start_one_job(w: World) -> None:
    """A double click on Optimize, or two dispatchers at once: one job, one 409."""
    route_id = await w.route()
    outcomes = await asyncio.gather(
        w.optimize(route_id), w.optimize(route_id), return_exceptions=True
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Ticket"]
    jobs = await w.sql("SELECT count(*) FROM optimization_jobs WHERE route_id = :r", r=route_id)
    assert jobs[0][0] == 1
    assert len(w.queue.sent) == 1

    await w.run(w.queue.sent[0][0])
    outcomes = await asyncio.gather(
        w.call(routes.deploy_route, route_id=route_id),
        w.call(routes.deploy_route, route_id=route_id),
        return_exceptions=True,
    )
    assert sorted(type(o).__name__ for o in outcomes) == ["Conflict", "Route"]


async def test_optimized_route_without_a_vehicle_cannot_be_deployed(w: World) -> None:
    route_id = await w.route(vehicle_id=None)
    await w.optimized(route_id)
    await conflict(w, routes.deploy_route, route_id=route_id)
    assert await w.status(route_id) == RouteStatus.OPTIMIZED


# The result cache


async def test_identical_input_is_answered_from_the_cache(w: World) -> None:
    first = await w.optimized(await w.route())
    assert w.queue.sent == [(first.job.id, w.actor.workspace_id)]
    planned = [s.location_id for s in (await w.detail(first.route.id)).stops]

    second_id = await w.route()
    hit = await w.optimize(second_id)
    assert hit.cached and hit.job.status == JobStatus.COMPLETED
    assert hit.job.result_data is not None and hit.job.result_data["cached"] is True
    assert hit.job.input_hash == first.job.input_hash
    assert len(w.queue.sent) == 1  # nothing was handed to a worker
    detail = await w.detail(second_id)
    assert detail.route.status == RouteStatus.OPTIMIZED
    assert [s.location_id for s in detail.stops] == planned
    assert all(s.arrival_eta is not None for s in detail.stops)
    assert detail.route.distance_km == (await w.detail(first.route.id)).route.distance_km
    assert len(detail.paths) == len(planned) + 1


async def test_identical_problem_on_another_day_is_answered_from_the_cache(w: World) -> None:
    """Times are relative to the planned start: the same stops tomorrow are the same problem."""
    first = await w.optimized(await w.route())
    hit = await w.optimize(await w.route(planned_start=START + timedelta(days=1)))
    assert hit.cached
    assert hit.job.input_hash == first.job.input_hash
    assert len(w.queue.sent) == 1


def _stops(w: World, **changes: Any) -> list[dict[str, Any]]:
    stops = [{"location_id": c, "load_kg": 50, "service_time_minutes": 5} for c in w.customers[:4]]
    stops[1].update(changes)
    return stops


async def test_any_input_change_misses_the_cache(w: World) -> None:
    base = await w.optimized(await w.route())
    other_van = await w.vehicle("RT-2")
    other_depot = await w.location(77.60, 12.98)
    variants: dict[str, dict[str, Any]] = {
        "load": {"stops": _stops(w, load_kg=51)},
        "service time": {"stops": _stops(w, service_time_minutes=6)},
        "time window": {
            "stops": _stops(
                w,
                time_window_start=START + timedelta(hours=1),
                time_window_end=START + timedelta(hours=3),
            )
        },
        "vehicle": {"vehicle_id": other_van},
        "depot": {"depot_location_id": other_depot},
        "shift": {"constraints": {"time_window_start": "08:00", "time_window_end": "12:00"}},
        "order": {"stops": list(reversed(_stops(w)))},
    }
    hashes = {base.job.input_hash}
    for name, changes in variants.items():
        sent = len(w.queue.sent)
        ticket = await w.optimize(await w.route(**changes))
        assert not ticket.cached, name
        assert ticket.job.status == JobStatus.PENDING, name
        assert ticket.job.input_hash not in hashes, name
        hashes.add(ticket.job.input_hash)
        assert w.queue.sent[sent:] == [(ticket.job.id, w.actor.workspace_id)], name


class WatchingCache:
    """The real cache, noting how the job looks to everyone else at each result stored."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.job_id: UUID | None = None
        self.seen: list[JobStatus] = []

    async def get(self, key: str) -> Any | None:
        return await self.w.cache.get(key)

    async def set(self, key: str, value: Any, *, ttl_s: int) -> None:
        assert self.job_id is not None
        self.seen.append((await self.w.job(self.job_id)).status)
        await self.w.cache.set(key, value, ttl_s=ttl_s)

    async def set_many(self, items: dict[str, Any], *, ttl_s: int) -> None:
        await self.w.cache.set_many(items, ttl_s=ttl_s)


async def test_a_result_is_cached_before_its_job_is_seen_complete(w: World) -> None:
    """A dispatcher who sees the job finish and at once submits the same stops gets a hit."""
    watching = WatchingCache(w)
    ticket = await w.optimize(await w.route())
    watching.job_id = ticket.job.id
    status = await optimization.run_job(
        db=w.db,
        cache=watching,
        channel=RecordingChannel(),
        job_id=ticket.job.id,
        workspace_id=w.actor.workspace_id,
    )
    assert status == JobStatus.COMPLETED
    assert watching.seen == [JobStatus.RUNNING]
    assert (await w.optimize(await w.route())).cached


class FailingCache(WatchingCache):
    """The real cache, except that storing fails as a Redis out of memory would."""

    async def set(self, key: str, value: Any, *, ttl_s: int) -> None:
        raise ConnectionError("OOM command not allowed when used memory > 'maxmemory'")


async def test_a_cache_that_cannot_store_does_not_lose_the_plan(w: World) -> None:
    route_id = await w.route()
    ticket = await w.optimize(route_id)
    status = await optimization.run_job(
        db=w.db,
        cache=FailingCache(w),
        channel=RecordingChannel(),
        job_id=ticket.job.id,
        workspace_id=w.actor.workspace_id,
    )
    assert status == JobStatus.COMPLETED
    assert await w.status(route_id) == RouteStatus.OPTIMIZED
    assert await w.paths(route_id) == 5


async def test_a_vehicle_changed_while_waiting_for_the_route_is_the_one_planned_for(
    w: World,
) -> None:
    """An optimization that waited for the route's lock plans with the route as it then is."""
    route_id = await w.route()
    bigger = (
        await w.call(
            create_vehicle,
            data=VehicleCreate.model_validate(
                {"vehicle_type": "truck", "plate_number": "RT-9", "capacity_kg": 9000}
            ),
        )
    ).id
    async with w.db.session(w.actor.workspace_id) as session:
        await session.execute(
            text("UPDATE routes SET vehicle_id = :v WHERE id = :r"), {"v": bigger, "r": route_id}
        )
        waiting = asyncio.create_task(w.optimize(route_id))
        await asyncio.sleep(0.5)  # the request is now waiting for the route's row
        assert not waiting.done()
    ticket = await waiting
    [vehicle] = ticket.job.input_data["problem"]["vehicles"]
    assert (vehicle["id"], vehicle["type"], vehicle["capacity_kg"]) == (str(bigger), "truck", 9000)


# Delivery, cancellation, timeouts and failures


async def test_message_delivered_twice_runs_once(w: World, monkeypatch: pytest.MonkeyPatch) -> None:
    solves: list[str] = []
    real = optimization.solve_problem

    def counting(*args: Any, **kwargs: Any) -> Any:
        solves.append(kwargs["params"].engine)
        return real(*args, **kwargs)

    monkeypatch.setattr(optimization, "solve_problem", counting)
    route_id = await w.route()
    ticket = await w.optimize(route_id)
    outcomes = await asyncio.gather(
        w.run(ticket.job.id), w.run(ticket.job.id), return_exceptions=True
    )
    # The second delivery finds the job claimed: nothing to do, or (while the first still
    # holds its lease) to be delivered again once the lease would have run out.
    assert JobStatus.COMPLETED in outcomes
    other = next(o for o in outcomes if o is not JobStatus.COMPLETED)
    assert other is None or isinstance(other, JobLeaseHeld)
    assert await w.run(ticket.job.id) is None  # a late redelivery does nothing
    assert solves == ["auto"]
    assert await w.paths(route_id) == 5
    assert await w.status(route_id) == RouteStatus.OPTIMIZED
    events = await w.sql(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'route.optimized'"
    )
    assert events[0][0] == 1


async def test_cancelled_pending_job_is_not_run(w: World) -> None:
    route_id = await w.route()
    ticket = await w.optimize(route_id)
    cancelled = await w.call(optimization.cancel_job, job_id=ticket.job.id)
    assert cancelled.status == JobStatus.CANCELLED
    assert await w.status(route_id) == RouteStatus.DRAFT
    with pytest.raises(Conflict):
        await w.call(optimization.cancel_job, job_id=ticket.job.id)

    assert await w.run(ticket.job.id) is None
    job = await w.job(ticket.job.id)
    assert job.status == JobStatus.CANCELLED and job.result_data is None
    # Nor is its result kept for the next request: the dispatcher asked for none.
    assert await w.cache.get(optimization.cache_key(w.actor.workspace_id, job.input_hash)) is None
    detail = await w.detail(route_id)
    assert detail.route.status == RouteStatus.DRAFT
    assert all(s.arrival_eta is None for s in detail.stops)
    assert await w.paths(route_id) == 0
    # Back in draft, the route can be edited and optimized again.
    await w.call(routes.update_route, route_id=route_id, data=RouteUpdate(name="Later"))
    assert (await w.optimize(route_id)).job.status == JobStatus.PENDING


class CancellingChannel:
    """Cancels the job, through its own transaction, as soon as the solver reports."""

    def __init__(self, w: World) -> None:
        self.w = w
        self.statuses: list[object] = []

    async def publish(self, job_id: UUID, message: dict[str, object]) -> None:
        self.statuses.append(message["status"])
        if message["status"] == "running" and self.statuses.count("running") == 1:
            await self.w.call(optimization.cancel_job, job_id=job_id)


async def test_job_cancelled_while_solving_discards_its_plan(w: World) -> None:
    places = await w.places(40)
    route_id = await w.route(stops=[{"location_id": p, "load_kg": 10} for p in places])
    ticket = await w.optimize(route_id, time_limit_s=1.5)
    channel = CancellingChannel(w)
    assert await w.run(ticket.job.id, channel) == JobStatus.CANCELLED
    assert "running" in channel.statuses

    job = await w.job(ticket.job.id)
    assert job.status == JobStatus.CANCELLED and job.result_data is None
    # Nor is its result kept for the next request: the dispatcher asked for none.
    assert await w.cache.get(optimization.cache_key(w.actor.workspace_id, job.input_hash)) is None
    detail = await w.detail(route_id)
    assert detail.route.status == RouteStatus.DRAFT
    assert detail.route.distance_km is None
    assert [s.location_id for s in detail.stops] == places
    assert all(s.arrival_eta is None for s in detail.stops)
    assert await w.paths(route_id) == 0


async def test_progress_reaches_the_channel_and_the_job(w: World) -> None:
    route_id = await w.route(stops=[{"location_id": p} for p in await w.places(25)])
    ticket = await w.optimize(route_id, time_limit_s=1)
    channel = RecordingChannel()
    assert await w.run(ticket.job.id, channel) == JobStatus.COMPLETED
    statuses = [m["status"] for m in channel.messages]
    assert statuses[0] == "running" and statuses[-1] == "completed"
    reports = [m for m in channel.messages if m["status"] == "running"]
    job = await w.job(ticket.job.id)
    assert job.progress == {k: reports[-1][k] for k in ("best_cost", "elapsed_s")}


async def test_run_past_its_budget_ends_timeout_and_keeps_the_plan(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(optimization, "TIMEOUT_FACTOR", 0.0)
    monkeypatch.setattr(optimization, "TIMEOUT_GRACE_S", 0.0)
    route_id = await w.route()
    ticket = await w.optimize(route_id)
    assert await w.run(ticket.job.id) == JobStatus.TIMEOUT
    job = await w.job(ticket.job.id)
    assert job.result_data is not None and job.result_data["routes"]
    assert job.execution_time_ms is not None
    detail = await w.detail(route_id)
    assert detail.route.status == RouteStatus.OPTIMIZED
    assert all(s.arrival_eta is not None for s in detail.stops)
    assert len(detail.paths) == 5


def _failing_first_engine(
    monkeypatch: pytest.MonkeyPatch, *, fallback_fails: bool = False
) -> list[str]:
    engines: list[str] = []
    real = optimization.solve_problem

    def flaky(*args: Any, **kwargs: Any) -> Any:
        engine = kwargs["params"].engine
        engines.append(engine)
        if engine == "auto":
            raise RuntimeError("backend crashed")
        if fallback_fails:
            raise RuntimeError("OR-Tools crashed too")
        return real(*args, **kwargs)

    monkeypatch.setattr(optimization, "solve_problem", flaky)
    return engines


async def test_failing_backend_falls_back_to_ortools(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    engines = _failing_first_engine(monkeypatch)
    route_id = await w.route()
    ticket = await w.optimize(route_id)
    assert await w.run(ticket.job.id) == JobStatus.COMPLETED
    assert engines == ["auto", "ortools"]
    job = await w.job(ticket.job.id)
    assert job.retry_count == 1
    assert job.error_message is not None and "backend crashed" in job.error_message
    assert job.result_data["solver"] == "ortools"
    assert await w.status(route_id) == RouteStatus.OPTIMIZED


async def test_both_backends_failing_fails_the_job(
    w: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _failing_first_engine(monkeypatch, fallback_fails=True)
    route_id = await w.route()
    ticket = await w.optimize(route_id)
    channel = RecordingChannel()
    assert await w.run(ticket.job.id, channel) == JobStatus.FAILED
    job = await w.job(ticket.job.id)
    assert job.result_data is None and job.retry_count == 1
    assert "backend crashed" in job.error_message and "OR-Tools crashed too" in job.error_message
    assert await w.status(route_id) == RouteStatus.DRAFT
    assert await w.paths(route_id) == 0
    events = await w.sql(
        "SELECT entity_id, payload FROM analytics_events"
        " WHERE event_type = 'route.optimization_failed'"
    )
    assert [e[0] for e in events] == [route_id]
    assert "OR-Tools crashed too" in events[0][1]["error"]
    assert channel.messages[-1]["status"] == "failed"
    assert await w.cache.get(optimization.cache_key(w.actor.workspace_id, job.input_hash)) is None


# What the plan says


async def test_unmeetable_stops_are_unassigned_with_a_reason_and_kept_last(w: World) -> None:
    c = w.customers
    stops = [
        {"location_id": c[1], "load_kg": 100},
        # Far from the depot, with a window that closes two minutes after the start.
        {
            "location_id": c[0],
            "time_window_start": START,
            "time_window_end": START + timedelta(minutes=2),
        },
        {"location_id": c[3], "load_kg": 100},
        {"location_id": c[2], "load_kg": 2500},  # over the van's 1,000 kg
        {"location_id": c[4], "load_kg": 100},
    ]
    route_id = await w.route(stops=stops)
    ticket = await w.optimize(route_id)
    assert await w.run(ticket.job.id) == JobStatus.COMPLETED
    job = await w.job(ticket.job.id)
    reasons = {u["stop"]: u["reason"] for u in job.result_data["unassigned"]}
    assert reasons == {1: "time_window", 3: "capacity"}

    detail = await w.detail(route_id)
    assert detail.route.status == RouteStatus.OPTIMIZED
    order = [s.location_id for s in detail.stops]
    assert sorted(order[:3], key=str) == sorted([c[1], c[3], c[4]], key=str)
    assert set(order[3:]) == {c[0], c[2]}
    assert [s.stop_order for s in detail.stops] == [1, 2, 3, 4, 5]
    assert all(s.arrival_eta is not None for s in detail.stops[:3])
    assert all(s.arrival_eta is None and s.departure_eta is None for s in detail.stops[3:])
    assert len(detail.paths) == 4  # depot, three visits, depot


async def test_etas_follow_service_times_and_windows(w: World) -> None:
    c = w.customers
    late_start, late_end = START + timedelta(hours=3), START + timedelta(hours=4)
    stops = [
        {"location_id": c[1], "service_time_minutes": 10},
        # Must be served first...
        {
            "location_id": c[3],
            "service_time_minutes": 15,
            "time_window_start": START,
            "time_window_end": START + timedelta(minutes=40),
        },
        # ...and this one hours later: the van waits.
        {
            "location_id": c[5],
            "service_time_minutes": 20,
            "time_window_start": late_start,
            "time_window_end": late_end,
        },
        {"location_id": c[7], "service_time_minutes": 10},
    ]
    route_id = await w.route(stops=stops)
    await w.optimized(route_id)
    detail = await w.detail(route_id)
    visits = detail.stops
    assert all(s.arrival_eta is not None and s.departure_eta is not None for s in visits)
    service = {s.location_id: timedelta(minutes=s.service_time_minutes or 0) for s in visits}
    for stop in visits:
        assert stop.arrival_eta is not None and stop.departure_eta is not None
        assert stop.arrival_eta >= START
        assert stop.departure_eta - stop.arrival_eta >= service[stop.location_id]
    for before, after in itertools.pairwise(visits):
        assert before.departure_eta is not None and after.arrival_eta is not None
        assert after.arrival_eta > before.departure_eta  # driving takes time
    early = next(s for s in visits if s.location_id == c[3])
    assert early.arrival_eta is not None and early.arrival_eta <= START + timedelta(minutes=40)
    late = next(s for s in visits if s.location_id == c[5])
    assert late.arrival_eta is not None and late.departure_eta is not None
    assert late_start <= late.arrival_eta <= late_end
    assert late.departure_eta == late.arrival_eta + timedelta(minutes=20)
    total = detail.route.estimated_duration_minutes
    assert total is not None and total >= 3 * 60 + 20
