"""Dispatch by road time in one statement: the free units' positions are snapped where
they are written (services.roads.position_snaps), so PostgreSQL prices each one from the
backward search towards the scene, with the very arithmetic of the Python ranking
(solvers.roads: the cheaper way off the unit's edge, honouring its open directions, plus
that junction's time to the scene, or straight along the scene's own edge; the approach at
the edge's speed; rounded half to even), and returns the best few in rank order.

Only the pieces of road from which a unit could arrive within a horizon are sent (each
road's least time to the scene bounds every unit on it), so a unit priced faster than the
horizon is sure to rank where a ranking of the whole fleet puts it; too few such units,
and the horizon doubles. Units without a usable snap (not snapped yet, moved since by
another path, snapped on another network version) are ranked in Python with the same
provider and merged. Whenever this cannot be exactly the ranking of the whole fleet by
road (a unit or the scene off the network, many units without a snap, as when a new network
version or the ranking of other types than the snaps were made for finds most of them
unusable), it answers None and the nearest-first walk ranks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

import numpy as np
import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from models.fleet import FREE_TYPES, UNSNAPPED
from models.geo import GeoPoint
from services.operations import travel
from solvers.matrix import MatrixProvider, travel_to
from solvers.problem import Point
from solvers.roads import UNREACHABLE, OffNetwork, RoadMatrixProvider, Snap, types_mask

# More units than this without a usable snap: the walk ranks instead (a new network
# version, until the positions are written again).
UNSNAPPED_CAP = 200
# The first horizon beyond the least time from any road (seconds); it doubles.
FIRST_HORIZON_S = 30.0

_ELIGIBLE = """v.deleted_at IS NULL AND v.status = 'available' AND v.last_location IS NOT NULL
          AND v.last_location_at >= :fresh_since
          AND v.id <> ALL(CAST(:exclude AS uuid[]))
          AND NOT EXISTS (SELECT 1 FROM incident_units u
                          WHERE u.vehicle_id = v.id AND u.cleared_at IS NULL)"""

# The types among `:types` with an eligible unit (a skip scan of the types present, then
# one unit each: as EXISTS the planner joins every free unit of the workspace).
PRESENT = sa.text(
    f"""
    {FREE_TYPES}
    SELECT t.vehicle_type FROM present t
    CROSS JOIN LATERAL (SELECT 1 FROM vehicles v
                        WHERE v.workspace_id = :workspace_id
                          AND v.vehicle_type = t.vehicle_type AND {_ELIGIBLE}
                        LIMIT 1) one
    WHERE t.vehicle_type = ANY(CAST(:types AS text[]))
    """  # noqa: S608 (constants only)
)
# Eligible units with no usable snap: none of their own position (partial index), or one
# made on another version or for other roads (row comparisons on the snap index).
UNSNAPPED_UNITS = sa.text(
    f"""
    SELECT v.id, v.vehicle_type, ST_X(v.last_location::geometry), ST_Y(v.last_location::geometry)
    FROM vehicles v
    WHERE v.workspace_id = :workspace_id AND {UNSNAPPED.replace("snap_", "v.snap_")}
      AND v.vehicle_type = ANY(CAST(:types AS text[])) AND {_ELIGIBLE}
    UNION
    SELECT v.id, v.vehicle_type, ST_X(v.last_location::geometry), ST_Y(v.last_location::geometry)
    FROM vehicles v
    WHERE v.workspace_id = :workspace_id AND v.snap_edge IS NOT NULL
      AND ((v.snap_version, v.snap_mask) < (:version, :mask)
           OR (v.snap_version, v.snap_mask) > (:version, :mask))
      AND v.vehicle_type = ANY(CAST(:types AS text[])) AND {_ELIGIBLE}
    LIMIT :cap
    """  # noqa: S608 (constants only)
)


def _along(cost: str, via_target: str, via_source: str, fwd: str, bwd: str) -> str:
    """SQL for a unit's cost to the scene on one graph (`Graph.costs_on`): the cheaper way
    off its edge to a junction open that way plus the junction's cost, or straight along
    the scene's own edge where open that way."""
    g = "CAST(:goal_fraction AS float8)"
    f = "v.snap_fraction"
    return f"""LEAST((1 - {f}) * {cost} + {via_target}, {f} * {cost} + {via_source},
                     CASE WHEN e.edge = :goal_edge THEN LEAST(
                         CASE WHEN {fwd} AND {f} <= {g} THEN ({g} - {f}) * {cost} END,
                         CASE WHEN {bwd} AND {f} >= {g} THEN ({f} - {g}) * {cost} END)
                     END)"""


# Per (piece of road, type) sent: the time graph's cost of the edge, the time from its
# target (where open forwards) and from its source (where open backwards) to the scene,
# its open directions, the approach speed, the time from the scene's snap to the scene; and
# the same of the distance graph. Each unit snapped there: the Python ranking's sums.
RANKED = sa.text(
    f"""
    SELECT v.id, v.vehicle_type, ST_X(v.last_location::geometry) AS lng,
           ST_Y(v.last_location::geometry) AS lat,
           CASE WHEN w.seconds = 'Infinity' THEN {UNREACHABLE}
                ELSE round(LEAST(w.seconds, {UNREACHABLE}))::bigint END AS travel_s,
           CASE WHEN w.metres = 'Infinity' THEN {UNREACHABLE}
                ELSE round(LEAST(w.metres, {UNREACHABLE}))::bigint END AS distance_m
    FROM unnest(CAST(:edges AS int[]), CAST(:types AS text[]), CAST(:cost AS float8[]),
                CAST(:via_target AS float8[]), CAST(:via_source AS float8[]),
                CAST(:fwd AS bool[]), CAST(:bwd AS bool[]), CAST(:speed AS float8[]),
                CAST(:arrive AS float8[]), CAST(:dcost AS float8[]),
                CAST(:dvia_target AS float8[]), CAST(:dvia_source AS float8[]),
                CAST(:dfwd AS bool[]), CAST(:dbwd AS bool[]))
         AS e(edge, vehicle_type, cost, via_target, via_source, fwd, bwd, speed, arrive,
              dcost, dvia_target, dvia_source, dfwd, dbwd)
    -- Each piece of road looks its units up in idx_vehicles_snap (OFFSET 0 keeps it a
    -- lookup: joined, the planner rescans the arrays once per free unit of the workspace).
    CROSS JOIN LATERAL (
        SELECT v.id, v.vehicle_type, v.last_location, v.snap_fraction, v.snap_offset_m
        FROM vehicles v
        WHERE v.workspace_id = :workspace_id AND v.snap_version = :version
          AND v.snap_mask = :mask AND v.snap_edge = e.edge AND v.vehicle_type = e.vehicle_type
          AND v.snap_lng = ST_X(v.last_location::geometry)
          AND v.snap_lat = ST_Y(v.last_location::geometry)
          AND {_ELIGIBLE}
        OFFSET 0
    ) v
    CROSS JOIN LATERAL (
        SELECT ({_along("e.cost", "e.via_target", "e.via_source", "e.fwd", "e.bwd")}
                + v.snap_offset_m / e.speed) + e.arrive AS seconds,
               ({_along("e.dcost", "e.dvia_target", "e.dvia_source", "e.dfwd", "e.dbwd")}
                + v.snap_offset_m) + CAST(:goal_offset AS float8) AS metres
    ) w
    ORDER BY travel_s, distance_m, v.id
    LIMIT :limit
    """  # noqa: S608 (constants only)
)


@dataclass(frozen=True, slots=True)
class Priced:
    """A unit as the ranking prices it: (travel_s, distance_m, id, type, lng, lat)."""

    vehicle_id: UUID
    vehicle_type: str
    lng: float
    lat: float
    travel_s: int
    distance_m: int

    @property
    def key(self) -> tuple[int, int, str]:
        return (self.travel_s, self.distance_m, str(self.vehicle_id))


@dataclass(frozen=True)
class _Roads:
    """Per (piece of road, type) the statement's columns, and each row's least time."""

    columns: dict[str, np.ndarray]
    least: np.ndarray  # per row: no unit snapped there arrives sooner

    def within(self, horizon: float) -> dict[str, list[object]]:
        keep = self.least <= horizon
        return {name: values[keep].tolist() for name, values in self.columns.items()}


def _roads(road: RoadMatrixProvider, goal: Snap, present: Sequence[str]) -> _Roads:
    net = road.network
    edges = np.arange(net.num_edges)
    dist = net.graph("distance", present)
    to_goal_m = dist.to_goal(goal)
    d_target = np.where(dist.forward, to_goal_m[net.target], np.inf)
    d_source = np.where(dist.backward, to_goal_m[net.source], np.inf)
    parts: dict[str, list[np.ndarray]] = {}
    least: list[np.ndarray] = []
    for vtype in present:
        cap = road.speed_kmh(vtype)
        graph = net.graph("time", [vtype], cap)
        to_goal = graph.to_goal(goal)
        via_target = np.where(graph.forward, to_goal[net.target], np.inf)
        via_source = np.where(graph.backward, to_goal[net.source], np.inf)
        speed = np.minimum(net.speed_kmh, cap) / 3.6
        arrive = goal.offset_m / (min(float(net.speed_kmh[goal.edge]), cap) / 3.6)
        bound = np.minimum(via_target, via_source)
        bound[goal.edge] = 0.0
        least.append(bound + arrive)
        for name, values in (  # one array per column, each type's rows after the last's
            ("edges", edges),
            ("types", np.full(net.num_edges, vtype, dtype=object)),
            ("cost", graph.cost),
            ("via_target", via_target),
            ("via_source", via_source),
            ("fwd", graph.forward),
            ("bwd", graph.backward),
            ("speed", speed),
            ("arrive", np.full(net.num_edges, arrive)),
            ("dcost", dist.cost),
            ("dvia_target", d_target),
            ("dvia_source", d_source),
            ("dfwd", dist.forward),
            ("dbwd", dist.backward),
        ):
            parts.setdefault(name, []).append(values)
    columns = {name: np.concatenate(values) for name, values in parts.items()}
    return _Roads(columns, np.concatenate(least))


async def best(
    session: AsyncSession,
    *,
    workspace_id: UUID,
    scene: GeoPoint,
    need: int,
    extra: int,
    types: Sequence[str],
    fresh_since: datetime,
    provider: MatrixProvider,
    exclude: Sequence[UUID],
) -> tuple[list[Priced], list[Priced]] | None:
    """The `need` best units by road (more where sure, up to `need + extra`) and the next
    priced, in rank order, exactly as a road ranking of every eligible unit; None where the
    walk must rank instead (see the module)."""
    if not isinstance(provider, travel.RoadFirst) or not isinstance(
        provider.road, RoadMatrixProvider
    ):
        return None
    road = provider.road
    scope = {"workspace_id": workspace_id, "fresh_since": fresh_since, "exclude": list(exclude)}
    present = sorted((await session.execute(PRESENT, {**scope, "types": list(types)})).scalars())
    if not present:
        return [], []
    mask = types_mask(present)
    target = Point(scene.lat, scene.lng)
    try:
        (goal,) = road.snaps([target], present)
    except OffNetwork:
        return None
    version = road.network.version
    unsnapped = (
        await session.execute(
            UNSNAPPED_UNITS,
            {
                **scope,
                "types": present,
                "version": version,
                "mask": mask,
                "cap": UNSNAPPED_CAP + 1,
            },
        )
    ).all()
    if len(unsnapped) > UNSNAPPED_CAP:
        return None
    others: list[Priced] = []
    if unsnapped:
        points = [Point(float(r[3]), float(r[2])) for r in unsnapped]
        try:
            road.snaps(points, present)
        except OffNetwork:
            return None  # one ranking, one source: the walk puts them all on the line
        column = travel_to(road, points, target, present)
        others = [
            Priced(
                r[0],
                r[1],
                float(r[2]),
                float(r[3]),
                int(column.durations[r[1]][i]),
                int(column.distance[i]),
            )
            for i, r in enumerate(unsnapped)
        ]
    roads = _roads(road, goal, present)
    finite = roads.least[np.isfinite(roads.least)]
    last = float(finite.max()) if len(finite) else 0.0
    horizon = (float(finite.min()) if len(finite) else 0.0) + FIRST_HORIZON_S
    limit = need + extra
    while True:
        everything = horizon > last
        sent = roads.within(math.inf if everything else horizon)
        rows = await session.execute(
            RANKED,
            {
                **scope,
                **sent,
                "version": version,
                "mask": mask,
                "goal_edge": goal.edge,
                "goal_fraction": goal.fraction,
                "goal_offset": goal.offset_m,
                "limit": limit,
            },
        )
        priced = [Priced(r[0], r[1], float(r[2]), float(r[3]), int(r[4]), int(r[5])) for r in rows]
        ranked = sorted([*priced, *others], key=lambda p: p.key)
        # A unit on a road not sent takes more than the horizon (whole seconds: at least its
        # floor); one sent but past the `limit` returned ranks after every unit returned.
        below = math.inf if everything else math.floor(horizon)
        after = priced[-1].key if len(priced) == limit else None
        ready = [p for p in ranked if p.travel_s < below and (after is None or p.key <= after)]
        if len(ready) >= need or everything:
            return ready, ranked[len(ready) :]
        horizon = min(2 * horizon, last + 1.0)
