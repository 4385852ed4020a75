"""Validated input shapes of the fleet operations (vehicles, drivers, locations)."""

from __future__ import annotations

import re
from datetime import date
from itertools import pairwise
from typing import Any, Self
from uuid import UUID

from pydantic import Field, field_validator, model_validator

from core.validation import Body, JsonObject
from models.enums import FuelType, LocationType, VehicleStatus, VehicleType
from models.geo import GeoPoint

PLATE = re.compile(r"^[A-Z0-9][A-Z0-9 \-]{0,19}$")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _plate(value: str | None) -> str | None:
    if value is None:
        return None
    plate = re.sub(r"\s+", " ", value.strip().upper())
    if not PLATE.match(plate):
        raise ValueError("1-20 letters, digits, spaces or dashes")
    return plate


class VehicleCreate(Body):
    vehicle_type: VehicleType
    plate_number: str
    capacity_kg: int = Field(default=0, ge=0, le=1_000_000)
    capacity_volume_m3: float | None = Field(default=None, ge=0, le=10_000)
    status: VehicleStatus = VehicleStatus.AVAILABLE
    fuel_type: FuelType | None = None
    max_range_km: float | None = Field(default=None, gt=0, le=100_000)
    metadata: JsonObject = Field(default_factory=dict)
    last_location: GeoPoint | None = None

    @field_validator("plate_number")
    @classmethod
    def _normalise_plate(cls, value: str) -> str | None:
        return _plate(value)


class VehicleUpdate(Body):
    vehicle_type: VehicleType | None = None
    plate_number: str | None = None
    capacity_kg: int | None = Field(default=None, ge=0, le=1_000_000)
    capacity_volume_m3: float | None = Field(default=None, ge=0, le=10_000)
    status: VehicleStatus | None = None
    fuel_type: FuelType | None = None
    max_range_km: float | None = Field(default=None, gt=0, le=100_000)
    metadata: JsonObject | None = None
    last_location: GeoPoint | None = None

    @field_validator("plate_number")
    @classmethod
    def _normalise_plate(cls, value: str | None) -> str | None:
        return _plate(value)


class DriverCreate(Body):
    user_id: UUID
    vehicle_id: UUID | None = None
    license_number: str = Field(min_length=3, max_length=40)
    license_expiry: date | None = None
    phone: str | None = Field(default=None, max_length=40)
    availability: bool = True
    rating: float = Field(default=0.0, ge=0, le=5)


class DriverUpdate(Body):
    vehicle_id: UUID | None = None
    license_number: str | None = Field(default=None, min_length=3, max_length=40)
    license_expiry: date | None = None
    phone: str | None = Field(default=None, max_length=40)
    availability: bool | None = None
    rating: float | None = Field(default=None, ge=0, le=5)


def check_operating_hours(hours: dict[str, Any]) -> dict[str, list[list[str]]]:
    """`{"mon": [["08:00", "12:00"], ["13:00", "18:00"]], ...}`: known days, HH:MM times,
    each interval starting before it ends, intervals of a day sorted and not overlapping."""
    clean: dict[str, list[list[str]]] = {}
    for day, intervals in hours.items():
        if day not in DAYS:
            raise ValueError(f"unknown day {day!r} (use {', '.join(DAYS)})")
        if not isinstance(intervals, list):
            raise ValueError(f"{day}: expected a list of [open, close] pairs")
        pairs: list[list[str]] = []
        for interval in intervals:
            if (
                not isinstance(interval, list | tuple)
                or len(interval) != 2
                or not all(isinstance(t, str) and HHMM.match(t) for t in interval)
            ):
                raise ValueError(f'{day}: each interval is ["HH:MM", "HH:MM"]')
            start, end = interval
            if start >= end:
                raise ValueError(f"{day}: {start}-{end} does not end after it starts")
            pairs.append([start, end])
        pairs.sort()
        for (_, end), (start, _) in pairwise(pairs):
            if start < end:
                raise ValueError(f"{day}: intervals overlap")
        clean[day] = pairs
    return clean


class ContactInfo(Body):
    name: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=320)
    notes: str | None = Field(default=None, max_length=2000)


class LocationCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    geo: GeoPoint
    location_type: LocationType = LocationType.CUSTOM
    contact_info: ContactInfo = Field(default_factory=ContactInfo)
    operating_hours: dict[str, Any] = Field(default_factory=dict)
    metadata: JsonObject = Field(default_factory=dict)

    @field_validator("operating_hours")
    @classmethod
    def _hours(cls, value: dict[str, Any]) -> dict[str, Any]:
        return check_operating_hours(value)


class LocationUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    address: str | None = Field(default=None, max_length=500)
    geo: GeoPoint | None = None
    location_type: LocationType | None = None
    contact_info: ContactInfo | None = None
    operating_hours: dict[str, Any] | None = None
    metadata: JsonObject | None = None

    @field_validator("operating_hours")
    @classmethod
    def _hours(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if value is None else check_operating_hours(value)


class BoundingBox(Body):
    """`min_lng,min_lat,max_lng,max_lat` (the GeoJSON bbox order)."""

    min_lng: float = Field(ge=-180, le=180)
    min_lat: float = Field(ge=-90, le=90)
    max_lng: float = Field(ge=-180, le=180)
    max_lat: float = Field(ge=-90, le=90)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min_lng > self.max_lng or self.min_lat > self.max_lat:
            raise ValueError("bbox minimums must not exceed its maximums")
        return self

    @classmethod
    def parse(cls, text: str) -> BoundingBox:
        parts = text.split(",")
        if len(parts) != 4:
            raise ValueError("bbox is min_lng,min_lat,max_lng,max_lat")
        min_lng, min_lat, max_lng, max_lat = (float(p) for p in parts)
        return cls(min_lng=min_lng, min_lat=min_lat, max_lng=max_lng, max_lat=max_lat)


class NearbyQuery(Body):
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    lng: float = Field(ge=-180, le=180, allow_inf_nan=False)
    radius_m: float = Field(default=5_000, gt=0, le=500_000, allow_inf_nan=False)
    limit: int = Field(default=10, ge=1, le=100)
