"""Validated shapes of position reports, in the manner of GPS servers: each rejected
position gets its own reason."""

from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from core.validation import Body

MAX_FUTURE = timedelta(minutes=5)
MAX_BATCH = 1000


# Why a value is out of range, per field: the reason given for pydantic's own range and
# finiteness errors, which it checks natively (a batch of 1,000 positions in one call).
RANGE_REASONS = {
    "lat": "must be between -90 and 90",
    "lng": "must be between -180 and 180",
    "speed": "must be between 0 and 400 km/h",
    "heading": "must be at least 0 and below 360 degrees",
    "accuracy_m": "must be between 0 and 100000",
    "battery_pct": "must be between 0 and 100",
}
NOT_FINITE = "must be a finite number"


class PositionReport(Body):
    model_config = ConfigDict(allow_inf_nan=False)

    vehicle_id: UUID
    lat: float = Field(ge=-90, le=90)
    lng: float = Field(ge=-180, le=180)
    speed: float | None = Field(default=None, ge=0, le=400, description="km/h")
    heading: float | None = Field(default=None, ge=0, lt=360, description="degrees from north")
    accuracy_m: float | None = Field(default=None, ge=0, le=100_000)
    battery_pct: float | None = Field(default=None, ge=0, le=100)
    recorded_at: AwareDatetime | None = None


def implausible(p: PositionReport, latest: datetime) -> tuple[str, str] | None:
    """(field, why) a well-formed position still cannot be stored, or None. Checked over a
    whole batch at once (one clock reading), after the per-field checks."""
    if p.lat == 0 and p.lng == 0:
        return "lat", "(0, 0) is a receiver without a fix, not a position"
    if p.recorded_at is not None and p.recorded_at > latest:
        return "recorded_at", "is more than 5 minutes in the future"
    return None


class PositionBatch(Body):
    # Items are validated one by one by the service, so that good ones are kept.
    positions: list[dict[str, object]] = Field(min_length=1, max_length=MAX_BATCH)
