"""What follows a stored batch of positions: the live map feed, the hot copy of each
vehicle's latest position, route deviations, progress along the route, sampled events."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from geoalchemy2.elements import WKTElement
from sqlalchemy import text
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.cache import Cache
from core.db import Database, after_commit
from core.fanout import Hub
from core.principal import Principal
from models import Location, Route, RouteDeviation, RouteStop, Workspace
from models.enums import RouteStatus
from services.events import emit
from services.operations import scene
from services.tracking.writer import Position, Stored

HOT_TTL_S = 24 * 3600
WARNING, CRITICAL = "warning", "critical"
CONSECUTIVE = 2

DISTANCES = text(
    """
    SELECT r.vehicle_id, r.id,
           min(ST_Distance(p.path, ST_SetSRID(ST_MakePoint(x.lng, x.lat), 4326)::geography))
    FROM unnest(CAST(:vehicles AS uuid[]), CAST(:lngs AS float8[]), CAST(:lats AS float8[]))
         AS x(v, lng, lat)
    JOIN routes r ON r.vehicle_id = x.v AND r.deleted_at IS NULL
                 AND r.status IN ('deployed', 'in_progress')
    JOIN route_paths p ON p.route_id = r.id
    GROUP BY r.vehicle_id, r.id
    """
)


def channel(workspace_id: UUID) -> str:
    return f"tracking:{workspace_id}"


def hot_key(workspace_id: UUID, vehicle_id: UUID) -> str:
    return f"tracking:{workspace_id}:{vehicle_id}"


@dataclass(frozen=True, slots=True)
class FeedSettings:
    deviation_threshold_m: float = 500.0
    arrival_radius_m: float = 100.0
    event_sample_s: float = 30.0


def position_message(p: Position) -> dict[str, Any]:
    """What subscribers and the hot copy get; the UUID and datetime are rendered by
    core.jsontext when the message is written out."""
    return {
        "type": "vehicle_moved",
        "vehicle_id": p.vehicle_id,
        "position": [p.lng, p.lat],
        "speed": p.speed_kmh,
        "heading": p.heading,
        "recorded_at": p.recorded_at,
    }


class TrackingFeed:
    def __init__(self, *, db: Database, cache: Cache, hub: Hub, settings: FeedSettings) -> None:
        self._db = db
        self._cache = cache
        self._hub = hub
        self._settings = settings
        self._last_event: dict[UUID, float] = {}

    async def after_flush(self, stored: Stored) -> None:
        """Publish the moves, refresh hot copies, then check route progress and deviations
        for the vehicles whose latest position changed."""
        latest: dict[UUID, Position] = {}
        moves: list[dict[str, Any]] = []
        hot: dict[str, dict[str, Any]] = {}
        for p in stored.positions:
            if not stored.is_new(p):
                continue  # a duplicate: announced when it first came
            message = position_message(p)
            moves.append(message)
            if stored.moved.get(p.vehicle_id) == p.recorded_at:
                latest[p.vehicle_id] = p
                hot[hot_key(stored.workspace_id, p.vehicle_id)] = message
        if moves:
            # One message for the whole flush: one round trip, decoded once per process.
            await self._hub.publish(channel(stored.workspace_id), moves)
        if hot:
            await self._cache.set_many(hot, ttl_s=HOT_TTL_S)
        if latest:
            async with self._db.session(stored.workspace_id, generic_plans=True) as session:
                on_route = await self._progress(session, stored.workspace_id, latest)
                if on_route:
                    await self._deviations(
                        session, stored.workspace_id, {v: latest[v] for v in on_route}
                    )
                    # Responders on their way to an incident: new ETAs, the SLA prediction.
                    await scene.units_moved(
                        session=session,
                        workspace_id=stored.workspace_id,
                        fixes={
                            v: scene.Fix(latest[v].lng, latest[v].lat, latest[v].recorded_at)
                            for v in on_route
                        },
                        hub=self._hub,
                    )
                self._sample_events(session, stored.workspace_id, latest)

    def _sample_events(
        self, session: AsyncSession, workspace_id: UUID, latest: dict[UUID, Position]
    ) -> None:
        now = time.monotonic()
        for vehicle_id, p in latest.items():
            if now - self._last_event.get(vehicle_id, -1e9) < self._settings.event_sample_s:
                continue
            self._last_event[vehicle_id] = now
            emit(
                session=session,
                actor=Principal.system(workspace_id),
                event_type="vehicle.position_updated",
                entity_type="vehicle",
                entity_id=vehicle_id,
                data={k: v for k, v in position_message(p).items() if k != "type"},
            )

    async def _threshold(self, session: AsyncSession, workspace_id: UUID) -> float:
        workspace = await session.get(Workspace, workspace_id)
        configured = (workspace.settings or {}).get("deviation_threshold_m") if workspace else None
        if isinstance(configured, int | float) and configured > 0:
            return float(configured)
        return self._settings.deviation_threshold_m

    async def _deviations(
        self, session: AsyncSession, workspace_id: UUID, latest: dict[UUID, Position]
    ) -> None:
        ids = list(latest)
        rows = (
            await session.execute(
                DISTANCES,
                {
                    "vehicles": ids,
                    "lngs": [latest[v].lng for v in ids],
                    "lats": [latest[v].lat for v in ids],
                },
            )
        ).all()
        if not rows:
            return
        threshold = await self._threshold(session, workspace_id)
        for vehicle_id, route_id, distance in rows:
            await self._judge(
                session, workspace_id, latest[vehicle_id], route_id, float(distance), threshold
            )

    async def _judge(
        self,
        session: AsyncSession,
        workspace_id: UUID,
        p: Position,
        route_id: UUID,
        distance: float,
        threshold: float,
    ) -> None:
        """Hysteresis: raised after CONSECUTIVE far positions, once; escalated to critical
        beyond 3x the threshold; cleared by the first position back within it."""
        counter_key = f"deviation-count:{workspace_id}:{p.vehicle_id}"
        active = (
            await session.exec(
                select(RouteDeviation).where(
                    RouteDeviation.vehicle_id == p.vehicle_id,
                    col(RouteDeviation.cleared_at).is_(None),
                )
            )
        ).first()
        now = datetime.now(UTC)
        if distance <= threshold:
            await self._cache.set(counter_key, 0, ttl_s=HOT_TTL_S)
            if active is not None:
                active.cleared_at, active.distance_m = now, distance
                session.add(active)
                await self._announce(session, workspace_id, active, "cleared")
            return
        count = int(await self._cache.get(counter_key) or 0) + 1
        await self._cache.set(counter_key, count, ttl_s=HOT_TTL_S)
        severity = CRITICAL if distance > 3 * threshold else WARNING
        if active is None:
            if count < CONSECUTIVE:
                return
            active = RouteDeviation(
                workspace_id=workspace_id,
                vehicle_id=p.vehicle_id,
                route_id=route_id,
                severity=severity,
                distance_m=distance,
                max_distance_m=distance,
                position=WKTElement(f"POINT({p.lng} {p.lat})", srid=4326),
                started_at=p.recorded_at,
            )
            session.add(active)
            await session.flush()
            await self._announce(session, workspace_id, active, "raised")
            return
        escalated = severity == CRITICAL and active.severity == WARNING
        active.distance_m = distance
        active.max_distance_m = max(active.max_distance_m, distance)
        active.position = WKTElement(f"POINT({p.lng} {p.lat})", srid=4326)
        active.updated_at = now
        if escalated:
            active.severity = CRITICAL
        session.add(active)
        if escalated:
            await self._announce(session, workspace_id, active, "escalated")

    async def _announce(
        self, session: AsyncSession, workspace_id: UUID, deviation: RouteDeviation, state: str
    ) -> None:
        message = {
            "type": "route_deviation",
            "vehicle_id": str(deviation.vehicle_id),
            "route_id": str(deviation.route_id),
            "distance_from_route_m": round(deviation.distance_m, 1),
            "severity": deviation.severity,
            "state": state,
        }
        emit(
            session=session,
            actor=Principal.system(workspace_id),
            event_type="vehicle.route_deviated",
            entity_type="vehicle",
            entity_id=deviation.vehicle_id,
            data=message,
        )
        self._publish_after_commit(session, workspace_id, message)

    def _publish_after_commit(
        self, session: AsyncSession, workspace_id: UUID, message: dict[str, Any]
    ) -> None:
        async def publish() -> None:
            await self._hub.publish(channel(workspace_id), message)

        after_commit(session, publish)

    async def _progress(
        self, session: AsyncSession, workspace_id: UUID, latest: dict[UUID, Position]
    ) -> set[UUID]:
        """A deployed route starts with its vehicle's first position; arriving within the
        arrival radius of the next stop completes it and shifts the remaining ETAs.
        Returns the vehicles on a deployed or started route (the others cannot deviate)."""
        routes = (
            await session.exec(
                select(Route).where(
                    col(Route.vehicle_id).in_(list(latest)),
                    col(Route.status).in_([RouteStatus.DEPLOYED, RouteStatus.IN_PROGRESS]),
                    col(Route.deleted_at).is_(None),
                )
            )
        ).all()
        for route in routes:
            assert route.vehicle_id is not None
            p = latest[route.vehicle_id]
            if route.status == RouteStatus.DEPLOYED:
                route.status = RouteStatus.IN_PROGRESS
                route.started_at = route.started_at or p.recorded_at
                session.add(route)
            await self._arrivals(session, workspace_id, route, p)
        return {route.vehicle_id for route in routes if route.vehicle_id is not None}

    async def _arrivals(
        self, session: AsyncSession, workspace_id: UUID, route: Route, p: Position
    ) -> None:
        row = (
            await session.exec(
                select(
                    RouteStop,
                    text(
                        "ST_Distance(locations.geo,"
                        " ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography)"
                    ),
                )
                .join(Location, col(Location.id) == col(RouteStop.location_id))
                .where(RouteStop.route_id == route.id, col(RouteStop.completed).is_(False))
                .order_by(col(RouteStop.stop_order))
                .limit(1)
                .params(lng=p.lng, lat=p.lat)
            )
        ).first()
        if row is None or float(row[1]) > self._settings.arrival_radius_m:
            return
        stop = row[0]
        stop.completed, stop.actual_arrival, stop.completed_at = True, p.recorded_at, p.recorded_at
        session.add(stop)
        delay = (p.recorded_at - stop.arrival_eta) if stop.arrival_eta else None
        later = (
            await session.exec(
                select(RouteStop).where(
                    RouteStop.route_id == route.id,
                    col(RouteStop.completed).is_(False),
                    col(RouteStop.id) != stop.id,
                )
            )
        ).all()
        if delay is not None:
            for other in later:
                if other.arrival_eta is not None:
                    other.arrival_eta += delay
                if other.departure_eta is not None:
                    other.departure_eta += delay
                session.add(other)
        message = {
            "type": "route_progress",
            "route_id": str(route.id),
            "vehicle_id": str(p.vehicle_id),
            "stop_id": str(stop.id),
            "stop_order": stop.stop_order,
            "delay_s": round(delay.total_seconds()) if delay is not None else None,
            "remaining": len(later),
        }
        emit(
            session=session,
            actor=Principal.system(workspace_id),
            event_type="route.progress",
            entity_type="route",
            entity_id=route.id,
            data=message,
        )
        self._publish_after_commit(session, workspace_id, message)
        # The stop of a responder's one-stop route is the scene of its incident.
        await scene.unit_arrived(
            session=session,
            workspace_id=workspace_id,
            route_id=route.id,
            at=p.recorded_at,
            hub=self._hub,
        )
