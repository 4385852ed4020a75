"""Validated shapes of position reports, in the manner of GPS servers: each rejected
position gets its own reason."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Self
from uuid import UUID

from pydantic import AwareDatetime, Field, model_validator

from core.validation import Body

MAX_FUTURE = timedelta(minutes=5)
MAX_BATCH = 1000


class PositionReport(Body):
    vehicle_id: UUID
    lat: float
    lng: float
    speed: float | None = Field(default=None, description="km/h")
    heading: float | None = Field(default=None, description="degrees from north")
    accuracy_m: float | None = None
    battery_pct: float | None = None
    recorded_at: AwareDatetime | None = None

    @model_validator(mode="after")
    def _plausible(self) -> Self:
        problem = rejection_reason(self)
        if problem:
            field, message = problem
            raise ValueError(f"{field}: {message}")
        return self


def rejection_reason(p: PositionReport) -> tuple[str, str] | None:
    """(field, why) a position cannot be stored, or None when it can."""
    for field in ("lat", "lng", "speed", "heading", "accuracy_m", "battery_pct"):
        value = getattr(p, field)
        if value is not None and not math.isfinite(value):
            return field, "must be a finite number"
    if abs(p.lat) > 90:
        return "lat", "must be between -90 and 90"
    if abs(p.lng) > 180:
        return "lng", "must be between -180 and 180"
    if p.lat == 0 and p.lng == 0:
        return "lat", "(0, 0) is a receiver without a fix, not a position"
    if p.speed is not None and not 0 <= p.speed <= 400:
        return "speed", "must be between 0 and 400 km/h"
    if p.heading is not None and not 0 <= p.heading < 360:
        return "heading", "must be at least 0 and below 360 degrees"
    if p.accuracy_m is not None and not 0 <= p.accuracy_m <= 100_000:
        return "accuracy_m", "must be between 0 and 100000"
    if p.battery_pct is not None and not 0 <= p.battery_pct <= 100:
        return "battery_pct", "must be between 0 and 100"
    if p.recorded_at is not None and p.recorded_at > datetime.now(UTC) + MAX_FUTURE:
        return "recorded_at", "is more than 5 minutes in the future"
    return None


class PositionBatch(Body):
    # Items are validated one by one by the service, so that good ones are kept.
    positions: list[dict[str, object]] = Field(min_length=1, max_length=MAX_BATCH)
