"""PostGIS expressions shared by the fleet services (geography, metres)."""

from __future__ import annotations

from typing import Any, TypeVar

import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel

from models.fleet_inputs import BoundingBox, NearbyQuery

M = TypeVar("M", bound=SQLModel)


def point(lng: float, lat: float) -> Any:
    return sa.cast(
        sa.func.ST_SetSRID(sa.func.ST_MakePoint(lng, lat), 4326), Geography("POINT", 4326)
    )


def within_bbox(column: Any, bbox: BoundingBox) -> Any:
    envelope = sa.func.ST_MakeEnvelope(bbox.min_lng, bbox.min_lat, bbox.max_lng, bbox.max_lat, 4326)
    return sa.func.ST_Intersects(column, sa.cast(envelope, Geography))


def nearest(
    model: type[M], column: Any, conditions: list[Any], query: NearbyQuery
) -> sa.Select[tuple[M, float]]:
    """The `query.limit` rows of `model` nearest the point, within `query.radius_m`, nearest
    first, with their distance in metres (on the spheroid).

    The nearest rows are found first (a KNN walk of the GiST index that stops after `limit`)
    and the radius applied to those: under forced Row-Level Security PostgreSQL will not
    use `ST_DWithin` to search the index (PostGIS does not mark it leakproof), and filtering
    by it first scanned the whole workspace (640 ms against 0.8 ms at 100,000 rows).
    """
    origin = point(query.lng, query.lat)
    distance = sa.func.ST_Distance(column, origin).label("distance_m")
    candidates = (
        sa.select(model, distance)
        .where(*conditions, column.is_not(None))
        .order_by(column.op("<->")(origin))
        .limit(query.limit)
        .subquery()
    )
    row = aliased(model, candidates)
    return (
        sa.select(row, candidates.c.distance_m)
        .where(candidates.c.distance_m <= query.radius_m)
        .order_by(candidates.c.distance_m)
    )


def escape_like(text: str) -> str:
    """`text` matched literally inside an ILIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
