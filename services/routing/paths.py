"""A route's path: one LineString per leg, along the streets when the plan was priced on the
road network, else straight between consecutive points."""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import sqlalchemy as sa
from sqlalchemy import text
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from models import Route, RoutePath
from services.roads.travel import provider_for
from solvers.problem import Point
from solvers.roads import OffNetwork, RoadMatrixProvider

Line = list[tuple[float, float]]

# One statement for all legs: GeoAlchemy's per-row geography conversion kept SQLAlchemy
# from batching the inserts (201 statements for a 200-stop route). The DELETE of the old
# legs is a WITH clause of the same statement, which cannot see the rows the INSERT adds.
_INSERT_LEGS = """
    INSERT INTO route_paths (workspace_id, route_id, segment_index, path, distance_km)
    SELECT :workspace_id, :route_id, (x.i - 1)::int, leg, ST_Length(leg) / 1000
    FROM unnest(CAST(:a_lng AS float8[]), CAST(:a_lat AS float8[]),
                CAST(:b_lng AS float8[]), CAST(:b_lat AS float8[]))
         WITH ORDINALITY AS x(a_lng, a_lat, b_lng, b_lat, i),
         LATERAL (SELECT ST_MakeLine(ST_SetSRID(ST_MakePoint(x.a_lng, x.a_lat), 4326),
                                     ST_SetSRID(ST_MakePoint(x.b_lng, x.b_lat), 4326))::geography
                  AS leg) AS l
"""
_DELETE_LEGS = "old_legs AS (DELETE FROM route_paths WHERE route_id = :route_id)"
_REPLACE_LEGS = text(f"WITH {_DELETE_LEGS} {_INSERT_LEGS}")
_INSERT_LINES = """
    INSERT INTO route_paths (workspace_id, route_id, segment_index, path, distance_km)
    SELECT :workspace_id, :route_id, (x.i - 1)::int, leg, ST_Length(leg) / 1000
    FROM unnest(CAST(:wkts AS text[])) WITH ORDINALITY AS x(wkt, i),
         LATERAL (SELECT ST_GeogFromText('SRID=4326;' || x.wkt) AS leg) AS l
"""
_REPLACE_LINES = text(f"WITH {_DELETE_LEGS} {_INSERT_LINES}")


def _leg_params(route: Route, points: list[tuple[float, float]]) -> dict[str, Any]:
    """The parameters of `_INSERT_LEGS`: one straight leg between consecutive (lng, lat)."""
    legs = list(pairwise(points))
    return {
        "workspace_id": route.workspace_id,
        "route_id": route.id,
        "a_lng": [a[0] for a, _ in legs],
        "a_lat": [a[1] for a, _ in legs],
        "b_lng": [b[0] for _, b in legs],
        "b_lat": [b[1] for _, b in legs],
    }


async def leg_lines(
    session: AsyncSession,
    travel: dict[str, Any] | None,
    points: list[tuple[float, float]],
    vehicle_types: list[str],
) -> list[Line]:
    """Each leg between consecutive (lng, lat): along the streets of the network the plan
    was priced on (from one stop's snap to the next's), else a straight segment."""
    straight = [[a, b] for a, b in pairwise(points)]
    if len(points) < 2 or not travel or travel.get("source") != "road":
        return straight
    provider = await provider_for(session, travel)
    if not isinstance(provider, RoadMatrixProvider):
        return straight
    try:
        return provider.legs([Point(lat=lat, lon=lng) for lng, lat in points], vehicle_types)
    except OffNetwork:  # priced on a version since replaced by one that does not reach here
        return straight


async def replace_path(
    session: AsyncSession,
    route: Route,
    points: list[tuple[float, float]],
    lines: list[Line] | None = None,
) -> None:
    """Replace the route's legs: `lines` (one per leg) when given, else the straight
    segments between consecutive (lng, lat)."""
    if len(points) < 2:
        await session.execute(sa.delete(RoutePath).where(col(RoutePath.route_id) == route.id))
        return
    if lines is None:
        await session.execute(_REPLACE_LEGS, _leg_params(route, points))
        return
    wkts = ["LINESTRING(" + ",".join(f"{x!r} {y!r}" for x, y in line) + ")" for line in lines]
    await session.execute(
        _REPLACE_LINES, {"workspace_id": route.workspace_id, "route_id": route.id, "wkts": wkts}
    )
