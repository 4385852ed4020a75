"""PostGIS expressions shared by the fleet services (geography, metres)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geography

from models.fleet_inputs import BoundingBox


def point(lng: float, lat: float) -> Any:
    return sa.cast(
        sa.func.ST_SetSRID(sa.func.ST_MakePoint(lng, lat), 4326), Geography("POINT", 4326)
    )


def within_bbox(column: Any, bbox: BoundingBox) -> Any:
    envelope = sa.func.ST_MakeEnvelope(bbox.min_lng, bbox.min_lat, bbox.max_lng, bbox.max_lat, 4326)
    return sa.func.ST_Intersects(column, sa.cast(envelope, Geography))


def nearest(column: Any, lng: float, lat: float, radius_m: float) -> tuple[Any, Any, Any]:
    """(filter, KNN ordering, distance in metres) around a point; the filter and the
    ordering both use the column's GiST index."""
    origin = point(lng, lat)
    return (
        sa.func.ST_DWithin(column, origin, radius_m),
        column.op("<->")(origin),
        sa.func.ST_Distance(column, origin).label("distance_m"),
    )


def escape_like(text: str) -> str:
    """`text` matched literally inside an ILIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
