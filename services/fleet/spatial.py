"""PostGIS expressions shared by the fleet services (geography, metres)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from geoalchemy2 import Geography, Geometry
from sqlalchemy.orm import aliased
from sqlmodel import SQLModel

from models.fleet_inputs import BoundingBox, NearbyQuery

M = TypeVar("M", bound=SQLModel)


def point(lng: Any, lat: Any) -> Any:
    return sa.cast(
        sa.func.ST_SetSRID(sa.func.ST_MakePoint(lng, lat), 4326), Geography("POINT", 4326)
    )


def within_bbox(column: Any, bbox: BoundingBox) -> Any:
    """A bbox is a longitude/latitude rectangle, so it is compared in plain coordinates: as a
    geography its edges would be great circles (a wide box's northern edge bulging north),
    and a whole-world box would have antipodal corners, which PostGIS refuses."""
    envelope = sa.func.ST_MakeEnvelope(bbox.min_lng, bbox.min_lat, bbox.max_lng, bbox.max_lat, 4326)
    return sa.func.ST_Intersects(sa.cast(column, Geometry), envelope)


@lru_cache(maxsize=32)
def _nearest_statement(model: type[M], column_name: str, filters: tuple[str, ...]) -> Any:
    """Built once per shape, with bound parameters: constructing the subquery and its alias
    cost more Python time per call than the query itself took in PostgreSQL."""
    column = getattr(model, column_name)
    origin = point(sa.bindparam("lng", type_=sa.Float), sa.bindparam("lat", type_=sa.Float))
    distance = sa.func.ST_Distance(column, origin).label("distance_m")
    conditions = [
        model.workspace_id == sa.bindparam("workspace_id"),  # type: ignore[attr-defined]
        model.deleted_at.is_(None),  # type: ignore[attr-defined]
        column.is_not(None),
        *(getattr(model, name) == sa.bindparam(name) for name in filters),
    ]
    candidates = (
        sa.select(model, distance)
        .where(*conditions)
        .order_by(column.op("<->")(origin))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery()
    )
    row = aliased(model, candidates)
    return (
        sa.select(row, candidates.c.distance_m)
        .where(candidates.c.distance_m <= sa.bindparam("radius_m", type_=sa.Float))
        .order_by(candidates.c.distance_m)
    )


def nearest(
    model: type[M],
    column_name: str,
    workspace_id: UUID,
    query: NearbyQuery,
    filters: dict[str, Any],
) -> tuple[Any, dict[str, Any]]:
    """The statement and parameters for the `query.limit` live rows of `model` nearest the
    point, within `query.radius_m`, nearest first, with their distance in metres (on the
    spheroid); `filters` are equality conditions (None means no condition).

    The nearest rows are found first (a KNN walk of the GiST index that stops after `limit`)
    and the radius applied to those: under forced Row-Level Security PostgreSQL will not
    use `ST_DWithin` to search the index (PostGIS does not mark it leakproof), and filtering
    by it first scanned the whole workspace (640 ms against 0.8 ms at 100,000 rows).
    """
    used = {name: value for name, value in filters.items() if value is not None}
    statement = _nearest_statement(model, column_name, tuple(sorted(used)))
    params = {
        "lng": query.lng,
        "lat": query.lat,
        "workspace_id": workspace_id,
        "limit": query.limit,
        "radius_m": query.radius_m,
        **used,
    }
    return statement, params


def escape_like(text: str) -> str:
    """`text` matched literally inside an ILIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
