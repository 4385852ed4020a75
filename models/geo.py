"""Points at the edges: GeoJSON (RFC 7946, `[lng, lat]`) in and out, checked for range."""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from geoalchemy2.elements import WKBElement, WKTElement
from geoalchemy2.shape import to_shape
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator


def _not_boolean(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("a coordinate is a number, not true or false")
    return value


# A number (or, from CSV imports, its text), never `true` or `false`, which pydantic would
# otherwise read as 1 and 0.
Coordinate = Annotated[float, BeforeValidator(_not_boolean)]


class GeoPoint(BaseModel):
    """A GeoJSON Point; REST clients may also send `{"lat": .., "lng": ..}`."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["Point"] = "Point"
    coordinates: tuple[Coordinate, Coordinate] = Field(description="[longitude, latitude]")

    @model_validator(mode="before")
    @classmethod
    def _accept_lat_lng(cls, value: Any) -> Any:
        if isinstance(value, dict) and "lat" in value and "lng" in value and len(value) == 2:
            return {"type": "Point", "coordinates": (value["lng"], value["lat"])}
        return value

    @field_validator("coordinates")
    @classmethod
    def _in_range(cls, coordinates: tuple[float, float]) -> tuple[float, float]:
        lng, lat = coordinates
        if not (math.isfinite(lng) and math.isfinite(lat)):
            raise ValueError("coordinates must be finite numbers")
        if abs(lat) > 90:
            raise ValueError("latitude must be between -90 and 90")
        if abs(lng) > 180:
            raise ValueError("longitude must be between -180 and 180")
        return coordinates

    @property
    def lng(self) -> float:
        return self.coordinates[0]

    @property
    def lat(self) -> float:
        return self.coordinates[1]

    def to_wkt(self) -> WKTElement:
        return WKTElement(f"POINT({self.lng!r} {self.lat!r})", srid=4326)

    @classmethod
    def of(cls, element: WKBElement | WKTElement | None) -> GeoPoint | None:
        if element is None:
            return None
        shape = to_shape(element)
        return cls(coordinates=(shape.x, shape.y))
