"""Dispatch of the closest responders.

Candidates are the workspace's available vehicles with a fresh position and no open
assignment. For each vehicle type, a nearest-first walk of `idx_vehicles_dispatch` reads
only the closest few; they are then ranked by travel time to the incident through the
routing matrix provider (the solver's, with its speeds per type), so a road-network
provider changes dispatch without touching this module. Within one type a farther
vehicle is never faster under a provider whose travel time grows with distance, so the
walk can stop early and the choice still equals a ranking of the whole fleet. On roads a
farther vehicle may be faster: the ranking's own bound (from its backward search), or a
provider's `least_seconds`, gives the least time from beyond the distance read, and when
the best read are not yet certain the walk reads on, only the units beyond those read, as
far as the units that could still beat them lie (as many as its density so far promises
there), so the choice equals a road ranking of the whole fleet too. Where the units'
positions were snapped as they were written, one statement ranks them by road instead of
the walk (services.operations.road_ranking), with the same result.

Units are claimed with `FOR UPDATE SKIP LOCKED` in rank order: two dispatches at the same
moment never take the same vehicle (and the unique index on open assignments would refuse
it), and each takes the best units the other left.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from geoalchemy2.elements import WKTElement
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import Conflict, NotFound, ValidationFailed
from core.principal import Principal
from models import Incident, IncidentUnit, Location, Route, RoutePath, RouteStop, Vehicle
from models.enums import (
    IncidentStatus,
    LocationType,
    OptimizationMode,
    RouteStatus,
    SlaState,
    VehicleStatus,
    VehicleType,
)
from models.fleet import FREE_TYPES
from models.geo import GeoPoint
from models.operations_inputs import DispatchRequest, IncidentCreate
from models.routing_inputs import OptimizeFor, RouteConstraints
from services.changes import record_change
from services.operations import road_ranking, sla, travel
from services.operations.incidents import (
    IncidentDetail,
    create_incident,
    get_incident,
    set_sla_state,
    units_of,
)
from services.operations.notify import Publisher, announce
from solvers.matrix import MatrixProvider, TimeBound, haversine_to_m, travel_to
from solvers.problem import Point
from solvers.roads import UNREACHABLE

DISPATCHABLE = (IncidentStatus.REPORTED, IncidentStatus.DISPATCHED, IncidentStatus.IN_PROGRESS)
# Candidates read per type beyond the units asked for: room for a few claimed by others.
SPARE = 3
ALTERNATIVES = 5
# The most candidates of one type a walk reads (by road): beyond it the best read go, as
# no surer choice is in reach of a bounded walk.
WALK_CAP = 2000
# How many times as many units of a type each read of a walk takes as the last, at most.
GROWTH = 4

FARTHER, BUSY, STALE, WRONG_TYPE, NO_POSITION = (
    "farther",
    "busy",
    "stale position",
    "wrong type",
    "no position",
)

# The nearest :per_type free units of each type in :types, beyond its :beyond metres (on the
# sphere; 0: from the scene on), so that a walk reading on skips the units it has.
# The types present among the workspace's free vehicles, by a skip scan of
# `idx_vehicles_dispatch_types` (one index descent per type): a nearest-first walk for a
# type with no vehicle would read the workspace's whole part of the GiST index.
CANDIDATES = sa.text(
    f"""
    {FREE_TYPES}
    SELECT c.id, c.vehicle_type, c.lng, c.lat
    FROM present t
    JOIN unnest(CAST(:types AS text[]), CAST(:beyond AS float8[])) AS b(vehicle_type, metres)
      ON b.vehicle_type = t.vehicle_type
    CROSS JOIN LATERAL (
        SELECT v.id, v.vehicle_type,
               ST_X(v.last_location::geometry) AS lng, ST_Y(v.last_location::geometry) AS lat
        FROM vehicles v
        WHERE v.workspace_id = :workspace_id AND v.vehicle_type = t.vehicle_type
          AND v.deleted_at IS NULL AND v.status = 'available' AND v.last_location IS NOT NULL
          AND v.last_location_at >= :fresh_since
          AND v.id <> ALL(CAST(:exclude AS uuid[]))
          AND (b.metres <= 0 OR NOT ST_DWithin(
                v.last_location, ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography,
                b.metres, false))
          AND NOT EXISTS (SELECT 1 FROM incident_units u
                          WHERE u.vehicle_id = v.id AND u.cleared_at IS NULL)
        ORDER BY v.last_location <-> ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography
        LIMIT :per_type
    ) c
    """  # noqa: S608 (constants only)
)
# The nearest vehicles whatever their state, to say why each was not sent.
NEIGHBOURS = sa.text(
    """
    SELECT v.id, v.vehicle_type, v.status::text, v.last_location_at,
           ST_X(v.last_location::geometry) AS lng, ST_Y(v.last_location::geometry) AS lat,
           EXISTS (SELECT 1 FROM incident_units u
                   WHERE u.vehicle_id = v.id AND u.cleared_at IS NULL) AS assigned
    FROM vehicles v
    WHERE v.workspace_id = :workspace_id AND v.deleted_at IS NULL
      AND v.last_location IS NOT NULL
    ORDER BY v.last_location <-> ST_SetSRID(ST_MakePoint(:lng, :lat), 4326)::geography
    LIMIT :limit
    """
)
CLAIM = sa.text(
    """
    SELECT id FROM vehicles
    WHERE id = ANY(CAST(:ids AS uuid[])) AND status = 'available' AND deleted_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM incident_units u
                      WHERE u.vehicle_id = vehicles.id AND u.cleared_at IS NULL)
    FOR UPDATE OF vehicles SKIP LOCKED
    """
)
MANUAL = sa.text(
    """
    SELECT v.id, v.vehicle_type, v.status::text, v.last_location_at,
           ST_X(v.last_location::geometry) AS lng, ST_Y(v.last_location::geometry) AS lat,
           EXISTS (SELECT 1 FROM incident_units u
                   WHERE u.vehicle_id = v.id AND u.cleared_at IS NULL) AS assigned
    FROM vehicles v
    WHERE v.id = ANY(CAST(:ids AS uuid[])) AND v.deleted_at IS NULL
    """
)


@dataclass(frozen=True, slots=True)
class Candidate:
    vehicle_id: UUID
    vehicle_type: str
    lng: float
    lat: float


@dataclass(frozen=True, slots=True)
class Ranked:
    candidate: Candidate
    travel_s: int
    distance_m: int

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.travel_s, self.distance_m, str(self.candidate.vehicle_id))


@dataclass(frozen=True, slots=True)
class ChosenUnit:
    vehicle_id: UUID
    vehicle_type: str
    route_id: UUID
    travel_s: int
    distance_m: int
    eta: datetime


@dataclass(frozen=True, slots=True)
class Alternative:
    vehicle_id: UUID
    vehicle_type: str
    reason: str
    travel_s: int | None
    distance_m: int | None


@dataclass(slots=True)
class DispatchResult:
    detail: IncidentDetail
    requested: int
    chosen: list[ChosenUnit]
    alternatives: list[Alternative] = field(default_factory=list)
    sla_state: SlaState = SlaState.ON_TRACK

    @property
    def shortfall(self) -> int:
        return self.requested - len(self.chosen)

    @property
    def message(self) -> str:
        if self.shortfall <= 0:
            return f"{len(self.chosen)} unit(s) dispatched"
        return (
            f"{len(self.chosen)} of {self.requested} unit(s) dispatched:"
            f" no other free unit with a fresh position"
        )


def rank(
    provider: MatrixProvider, scene: GeoPoint, candidates: Sequence[Candidate]
) -> list[Ranked]:
    """Candidates by travel time to the scene (then matrix distance, then id)."""
    return _ranking(provider, scene, candidates, {c.vehicle_type for c in candidates})[0]


def _ranking(
    provider: MatrixProvider,
    scene: GeoPoint,
    candidates: Sequence[Candidate],
    types: Collection[str],
) -> tuple[list[Ranked], Mapping[str, TimeBound]]:
    """`rank` with the travel of `types` (they decide the roads a point may snap to), and
    the bound on every other point per type that came with it."""
    if not candidates:
        return [], {}
    column = travel_to(
        provider, [Point(c.lat, c.lng) for c in candidates], Point(scene.lat, scene.lng), types
    )
    distance = column.distance.tolist()
    seconds = {vtype: d.tolist() for vtype, d in column.durations.items()}
    ranked = [
        Ranked(c, int(seconds[c.vehicle_type][i]), int(distance[i]))
        for i, c in enumerate(candidates)
    ]
    ranked.sort(key=lambda r: r.key)
    return ranked, column.bounds


async def candidates(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    scene: GeoPoint,
    types: Sequence[str],
    fresh_since: datetime,
    per_type: int,
    exclude: Sequence[UUID] = (),
    beyond: Mapping[str, float] | None = None,
) -> list[Candidate]:
    """The nearest `per_type` free units of each type (beyond `beyond[type]` metres)."""
    rows = await session.execute(
        CANDIDATES,
        {
            "types": list(types),
            "beyond": [(beyond or {}).get(t, 0.0) for t in types],
            "workspace_id": workspace_id,
            "fresh_since": fresh_since,
            "exclude": list(exclude),
            "lng": scene.lng,
            "lat": scene.lat,
            "per_type": per_type,
        },
    )
    return [Candidate(r[0], r[1], float(r[2]), float(r[3])) for r in rows]


def _covered(scene: GeoPoint, found: Sequence[Candidate], per_type: int) -> dict[str, float]:
    """Per type read: how far out every unit of it has been read (metres on the sphere). A
    type whose read stopped at `per_type`, as far as its farthest unit read (the unread lie
    no nearer); one with fewer, everywhere (inf)."""
    by_type: dict[str, list[Candidate]] = {}
    for c in found:
        by_type.setdefault(c.vehicle_type, []).append(c)
    covered: dict[str, float] = {}
    origin = Point(scene.lat, scene.lng)
    for vtype, items in by_type.items():
        if len(items) >= per_type:
            points = [Point(c.lat, c.lng) for c in items]
            covered[vtype] = float(haversine_to_m(points, origin).max())
        else:
            covered[vtype] = math.inf
    return covered


def _frontier(
    ranked: list[Ranked],
    covered: Mapping[str, float],
    provider: MatrixProvider,
    bounds: Mapping[str, TimeBound],
) -> tuple[float, float]:
    """The key below which no unread candidate can rank, from each type not read whole:
    under travel that grows with straight-line distance, that type's last vehicle read; on
    roads, where a farther vehicle may be nearer by road, one whole second below the least
    time from beyond the distance read, by the ranking's own bound (from its backward
    search) or else the provider's `least_seconds` (the line at the top speed)."""
    least = getattr(provider, "least_seconds", None)
    bound = (math.inf, math.inf)
    for vtype, metres in covered.items():
        if metres == math.inf:
            continue
        if vtype in bounds:
            # Whole seconds are rounded: an unread unit takes at least this many.
            unread = math.ceil(bounds[vtype].least_seconds(metres) - 0.5 - 1e-6)
            bound = min(bound, (min(unread, UNREACHABLE) - 1, math.inf))
        elif least is not None:
            bound = min(bound, (math.floor(least(metres, vtype)) - 1, math.inf))
        else:
            last = max(
                (r for r in ranked if r.candidate.vehicle_type == vtype),
                key=lambda r: (r.travel_s, r.distance_m),
            )
            bound = min(bound, (last.travel_s, last.distance_m))
    return bound


def _read_on(
    covered: Mapping[str, float],
    counts: Mapping[str, int],
    provider: MatrixProvider,
    bounds: Mapping[str, TimeBound],
    seconds: int,
) -> int:
    """How many more units of each type not read whole the next read takes, so that none
    left unread could take `seconds` or less: as many as the density read so far promises
    out to where the bound says one could still be that fast (and a fifth more), at least
    as many again as read, at most `GROWTH` times as many in all."""
    least = getattr(provider, "least_seconds", None)
    more = 0
    for vtype, metres in covered.items():
        if metres == math.inf:
            continue
        read = counts[vtype]
        if seconds >= UNREACHABLE:
            reach = math.inf
        elif vtype in bounds:
            reach = bounds[vtype].radius(seconds + 0.5)
        elif least is not None:
            per_metre = least(1.0, vtype)
            reach = (seconds + 1) / per_metre if per_metre > 0 else math.inf
        else:
            reach = math.inf
        promised = math.ceil(1.2 * read * (min(reach, 1e7) / max(metres, 1.0)) ** 2)
        more = max(more, min(max(promised, 2 * read), GROWTH * read) - read)
    return more


def _ranked(p: road_ranking.Priced) -> Ranked:
    return Ranked(Candidate(p.vehicle_id, p.vehicle_type, p.lng, p.lat), p.travel_s, p.distance_m)


async def _walk(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    scene: GeoPoint,
    need: int,
    per_type: int,
    types: Sequence[str],
    fresh_since: datetime,
    provider: MatrixProvider,
    tried: Sequence[UUID],
) -> tuple[list[Ranked], list[Ranked]]:
    """The candidates read nearest first per type, ranked, until the `need` best are sure
    (or `WALK_CAP` of a type are read): those sure, and the rest read. By road, with the
    units' snaps stored, one statement ranks them instead (services.operations.road_ranking)."""
    by_road = await road_ranking.best(
        session,
        workspace_id=workspace_id,
        scene=scene,
        need=need,
        extra=SPARE + ALTERNATIVES,
        types=types,
        fresh_since=fresh_since,
        provider=provider,
        exclude=tried,
    )
    if by_road is not None:
        sure, rest = by_road
        return [_ranked(p) for p in sure], [_ranked(p) for p in rest]
    ranked: list[Ranked] = []
    bounds: Mapping[str, TimeBound] = {}
    present: set[str] = set()
    read: list[Candidate] = []
    seen: set[UUID] = set()
    counts: dict[str, int] = {}
    covered: dict[str, float] = {}
    beyond: dict[str, float] = {}
    step = per_type
    while True:
        found = await candidates(
            session,
            workspace_id=workspace_id,
            scene=scene,
            types=list(beyond) if beyond else types,
            fresh_since=fresh_since,
            per_type=step,
            exclude=tried,
            beyond=beyond,
        )
        covered.update({t: math.inf for t in beyond})
        covered.update(_covered(scene, found, step))
        # A read on starts a centimetre short of the last, for units at the same distance.
        new = [c for c in found if c.vehicle_id not in seen]
        seen.update(c.vehicle_id for c in new)
        for c in new:
            counts[c.vehicle_type] = counts.get(c.vehicle_type, 0) + 1
        read.extend(new)
        present = present or {c.vehicle_type for c in new}
        more, more_bounds = _ranking(provider, scene, new, present)
        if new and bool(more_bounds) != bool(bounds) and ranked:
            # One ranking, one source: a unit off the roads puts all of them on the line.
            ranked, bounds = _ranking(provider, scene, read, present)
        else:
            ranked = sorted([*ranked, *more], key=lambda r: r.key)
            bounds = more_bounds or bounds
        bound = _frontier(ranked, covered, provider, bounds)
        ready = [r for r in ranked if (r.travel_s, r.distance_m) <= bound]
        if len(ready) >= need or not ranked:
            return ready, ranked[len(ready) :]
        cut = {t: m for t, m in covered.items() if m < math.inf}
        if not cut or max(counts[t] for t in cut) >= WALK_CAP:
            # Every unit was read, or the cap was reached: the best read go, no surer
            # choice is in reach.
            return ranked, []
        # By road a unit farther in a straight line may be nearer: read on, as far as a
        # unit that could still beat the `need`-th best read so far may lie.
        step = _read_on(cut, counts, provider, bounds, ranked[need - 1].travel_s)
        step = max(1, min(step, WALK_CAP - max(counts[t] for t in cut)))
        beyond = {t: max(m - 0.01, 0.0) for t, m in cut.items()}


async def closest(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    scene: GeoPoint,
    count: int,
    types: Sequence[str],
    fresh_since: datetime,
    provider: MatrixProvider,
    claim: bool,
) -> tuple[list[Ranked], list[Ranked]]:
    """The `count` best candidates (claimed for this transaction when `claim`), and the
    ranked candidates read but not chosen."""
    chosen: list[Ranked] = []
    passed: list[Ranked] = []
    tried: list[UUID] = []
    while len(chosen) < count:
        ready, rest = await _walk(
            session,
            workspace_id=workspace_id,
            scene=scene,
            need=count - len(chosen),
            per_type=count + SPARE,
            types=types,
            fresh_since=fresh_since,
            provider=provider,
            tried=tried,
        )
        if not ready:
            break
        while ready and len(chosen) < count:
            batch, ready = ready[: count - len(chosen)], ready[count - len(chosen) :]
            tried.extend(r.candidate.vehicle_id for r in batch)
            if not claim:
                chosen.extend(batch)
                continue
            got = set(
                (
                    await session.execute(CLAIM, {"ids": [r.candidate.vehicle_id for r in batch]})
                ).scalars()
            )
            chosen.extend(r for r in batch if r.candidate.vehicle_id in got)
        if len(chosen) >= count:
            passed = ready + rest
            break
    return chosen, passed


async def best_eta(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    scene: GeoPoint,
    max_position_age_s: float,
    provider: MatrixProvider | None = None,
) -> datetime | None:
    """When the closest free unit could be there, were it sent now (None: no unit)."""
    if provider is None:
        provider = await travel.ranking_provider(session, workspace_id, scene)
    now = datetime.now(UTC)
    chosen, _ = await closest(
        session,
        workspace_id=workspace_id,
        scene=scene,
        count=1,
        types=[t.value for t in VehicleType],
        fresh_since=now - timedelta(seconds=max_position_age_s),
        provider=provider,
        claim=False,
    )
    return now + timedelta(seconds=chosen[0].travel_s) if chosen else None


async def report_incident(
    *,
    session: AsyncSession,
    actor: Principal,
    data: IncidentCreate,
    max_position_age_s: float,
    hub: Publisher | None = None,
    clock: sla.SlaClock | None = None,
    provider: MatrixProvider | None = None,
) -> Incident:
    """Report an incident, its SLA state predicted from the closest free unit's arrival."""
    best = await best_eta(
        session,
        workspace_id=actor.workspace_id,
        scene=data.location,
        max_position_age_s=max_position_age_s,
        provider=provider,
    )
    return await create_incident(
        session=session, actor=actor, data=data, hub=hub, best_eta=best, clock=clock
    )


async def _scene_location(session: AsyncSession, incident: Incident) -> UUID:
    """The place the units' routes lead to: a location of the incident's own."""
    if incident.scene_location_id is not None:
        return incident.scene_location_id
    location = Location(
        workspace_id=incident.workspace_id,
        name=f"Incident: {incident.incident_type}"[:200],
        geo=incident.location,
        location_type=LocationType.CUSTOM,
        metadata_={"incident_id": str(incident.id)},
    )
    session.add(location)
    await session.flush()
    incident.scene_location_id = location.id
    return location.id


async def _manual(
    session: AsyncSession,
    *,
    scene: GeoPoint,
    vehicle_ids: list[UUID],
    provider: MatrixProvider,
) -> tuple[list[Ranked], list[Alternative]]:
    """The vehicles named, those free claimed; another workspace's is 404 like a missing one."""
    rows = {r[0]: r for r in await session.execute(MANUAL, {"ids": vehicle_ids})}
    missing = [v for v in vehicle_ids if v not in rows]
    if missing:
        raise NotFound.resource("Vehicle", missing[0])
    usable = [
        Candidate(r[0], r[1], float(r[4]), float(r[5]))
        for r in rows.values()
        if r[4] is not None and r[2] == VehicleStatus.AVAILABLE.value and not r[6]
    ]
    got = set(
        (await session.execute(CLAIM, {"ids": [c.vehicle_id for c in usable]})).scalars()
        if usable
        else []
    )
    chosen = rank(provider, scene, [c for c in usable if c.vehicle_id in got])
    refused = [
        Alternative(v, rows[v][1], NO_POSITION if rows[v][4] is None else BUSY, None, None)
        for v in dict.fromkeys(vehicle_ids)
        if v not in got
    ]
    return chosen, refused


async def _explain(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    scene: GeoPoint,
    chosen: set[UUID],
    passed: list[Ranked],
    types: set[str] | None,
    fresh_since: datetime,
    provider: MatrixProvider,
) -> list[Alternative]:
    """The next best candidates and the nearest vehicles not sent, each with its reason."""
    rows = await session.execute(
        NEIGHBOURS,
        {"workspace_id": workspace_id, "lng": scene.lng, "lat": scene.lat, "limit": 10},
    )
    reasons: dict[UUID, tuple[Candidate, str]] = {
        r.candidate.vehicle_id: (r.candidate, FARTHER) for r in passed[:ALTERNATIVES]
    }
    for vid, vtype, status, at, lng, lat, assigned in rows:
        if vid in chosen or vid in reasons:
            continue
        if status != VehicleStatus.AVAILABLE.value or assigned:
            reason = BUSY
        elif at is None or at < fresh_since:
            reason = STALE
        elif types is not None and vtype not in types:
            reason = WRONG_TYPE
        else:
            reason = BUSY  # free and fresh, yet claimed by a dispatch running alongside
        reasons[vid] = (Candidate(vid, vtype, float(lng), float(lat)), reason)
    ranked = rank(provider, scene, [c for c, _ in reasons.values()])
    return [
        Alternative(
            r.candidate.vehicle_id,
            r.candidate.vehicle_type,
            reasons[r.candidate.vehicle_id][1],
            r.travel_s,
            r.distance_m,
        )
        for r in ranked[:ALTERNATIVES]
    ]


def _leg(candidate: Candidate, scene: GeoPoint, provider: MatrixProvider) -> WKTElement:
    """The unit's way to the scene: along the streets where the ranking's travel has them,
    else the straight line."""
    start, end = Point(candidate.lat, candidate.lng), Point(scene.lat, scene.lng)
    line = travel.leg(provider, start, end, candidate.vehicle_type)
    coords = ", ".join(f"{lng!r} {lat!r}" for lng, lat in line)
    return WKTElement(f"LINESTRING({coords})", srid=4326)


async def _deploy(
    session: AsyncSession,
    actor: Principal,
    incident: Incident,
    scene: GeoPoint,
    location_id: UUID,
    chosen: list[Ranked],
    now: datetime,
    provider: MatrixProvider,
) -> list[ChosenUnit]:
    """A deployed one-stop route per unit, its vehicle `in_transit`, its assignment row.
    Written as one multi-row insert per table: through the unit of work the three routes
    with their stops, legs and assignments took half of a dispatch's time."""
    ws = actor.workspace_id
    constraints = RouteConstraints(optimize_for=OptimizeFor.TIME).model_dump(mode="json")
    units = [
        ChosenUnit(
            r.candidate.vehicle_id,
            r.candidate.vehicle_type,
            uuid4(),
            r.travel_s,
            r.distance_m,
            now + timedelta(seconds=r.travel_s),
        )
        for r in chosen
    ]
    name = f"Response: {incident.incident_type}"[:200]
    await session.execute(
        sa.insert(Route),
        [
            {
                "id": u.route_id,
                "workspace_id": ws,
                "vehicle_id": u.vehicle_id,
                "name": name,
                "optimization_mode": OptimizationMode.CLASSICAL,
                "status": RouteStatus.DEPLOYED,
                "distance_km": round(u.distance_m / 1000, 3),
                "estimated_duration_minutes": math.ceil(u.travel_s / 60),
                "constraints": constraints,
                "planned_start": now,
                "started_at": now,
                "created_by": actor.user_id,
            }
            for u in units
        ],
    )
    await session.execute(
        sa.insert(RouteStop),
        [
            {
                "workspace_id": ws,
                "route_id": u.route_id,
                "location_id": location_id,
                "stop_order": 1,
                "arrival_eta": u.eta,
                "departure_eta": u.eta,
                "service_time_minutes": 0,
                "load_kg": 0.0,
            }
            for u in units
        ],
    )
    await session.execute(
        sa.insert(RoutePath),
        [
            {
                "workspace_id": ws,
                "route_id": u.route_id,
                "path": _leg(r.candidate, scene, provider),
                "segment_index": 0,
                "distance_km": round(u.distance_m / 1000, 3),
            }
            for r, u in zip(chosen, units, strict=True)
        ],
    )
    await session.execute(
        sa.insert(IncidentUnit),
        [
            {
                "workspace_id": ws,
                "incident_id": incident.id,
                "vehicle_id": u.vehicle_id,
                "route_id": u.route_id,
                "dispatched_at": now,
                "eta": u.eta,
                "distance_m": float(u.distance_m),
            }
            for u in units
        ],
    )
    await session.execute(
        sa.update(Vehicle)
        .where(col(Vehicle.id).in_([u.vehicle_id for u in units]))
        .values(status=VehicleStatus.IN_TRANSIT, updated_at=now)
    )
    for u in units:
        await record_change(
            session=session,
            actor=actor,
            action="route.deployed",
            resource_type="route",
            resource_id=u.route_id,
            changes={"vehicle_id": str(u.vehicle_id), "incident_id": str(incident.id)},
        )
    return units


async def dispatch_incident(
    *,
    session: AsyncSession,
    actor: Principal,
    incident_id: UUID,
    data: DispatchRequest,
    max_position_age_s: float,
    hub: Publisher | None = None,
    provider: MatrixProvider | None = None,
) -> DispatchResult:
    """Send the closest free units (or the ones named) to the incident, each on a deployed
    one-stop route; answer which went, with ETAs, the predicted SLA state, and why the next
    best did not. Fewer free units than asked: those there are go, and the answer says so."""
    incident = await get_incident(session=session, actor=actor, incident_id=incident_id, lock=True)
    if incident.status not in DISPATCHABLE:
        raise Conflict(
            f"A {incident.status.value} incident cannot be dispatched",
            details={"status": incident.status.value},
        )
    if data.vehicle_ids and data.count is not None and data.count != len(data.vehicle_ids):
        raise ValidationFailed.field("count", "must match the number of vehicle_ids when given")
    scene = GeoPoint.of(incident.location)
    assert scene is not None
    if provider is None:
        provider = await travel.ranking_provider(session, actor.workspace_id, scene)
    now = datetime.now(UTC)
    fresh_since = now - timedelta(seconds=max_position_age_s)
    types = sorted({t.value for t in data.vehicle_types} if data.vehicle_types else VehicleType)
    if data.vehicle_ids:
        requested = len(set(data.vehicle_ids))
        chosen, refused = await _manual(
            session, scene=scene, vehicle_ids=list(data.vehicle_ids), provider=provider
        )
        alternatives = refused
    else:
        requested = data.count or sla.DEFAULT_UNITS[incident.severity.value]
        chosen, passed = await closest(
            session,
            workspace_id=actor.workspace_id,
            scene=scene,
            count=requested,
            types=types,
            fresh_since=fresh_since,
            provider=provider,
            claim=True,
        )
        alternatives = await _explain(
            session,
            workspace_id=actor.workspace_id,
            scene=scene,
            chosen={r.candidate.vehicle_id for r in chosen},
            passed=passed,
            types=set(types) if data.vehicle_types else None,
            fresh_since=fresh_since,
            provider=provider,
        )
    units: list[ChosenUnit] = []
    if chosen:
        location_id = await _scene_location(session, incident)
        units = await _deploy(session, actor, incident, scene, location_id, chosen, now, provider)
        incident.assigned_vehicles = [
            *(incident.assigned_vehicles or []),
            *(u.vehicle_id for u in units),
        ]
        if incident.status == IncidentStatus.REPORTED:
            incident.status = IncidentStatus.DISPATCHED
        incident.dispatched_at = incident.dispatched_at or now
        incident.updated_at = now
        session.add(incident)
        await session.flush()
        await record_change(
            session=session,
            actor=actor,
            action="incident.dispatched",
            resource_type="incident",
            resource_id=incident.id,
            changes={"vehicles": [str(u.vehicle_id) for u in units]},
            event={
                "units": [
                    {
                        "vehicle_id": u.vehicle_id,
                        "route_id": u.route_id,
                        "eta": u.eta,
                        "travel_s": u.travel_s,
                        "distance_m": u.distance_m,
                    }
                    for u in units
                ],
                "requested": requested,
                "status": str(incident.status),
            },
        )
        announce(session, hub, incident, "dispatched")
    all_units = await units_of(session, incident.id)
    state = sla.state_of(incident, all_units, now)
    await set_sla_state(session=session, actor=actor, incident=incident, state=state, hub=hub)
    await session.refresh(incident)
    return DispatchResult(
        IncidentDetail(incident, all_units), requested, units, alternatives, incident.sla_state
    )


def result_units(result: DispatchResult) -> list[dict[str, Any]]:
    return [
        {
            "vehicle_id": u.vehicle_id,
            "vehicle_type": u.vehicle_type,
            "route_id": u.route_id,
            "eta": u.eta,
            "travel_s": u.travel_s,
            "distance_m": u.distance_m,
        }
        for u in result.chosen
    ]
