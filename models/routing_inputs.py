"""Validated input shapes of the routing operations."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self
from uuid import UUID

from pydantic import AwareDatetime, Field, field_validator, model_validator

from core.validation import Body
from models.enums import OptimizationMode

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_STOPS = 500


class OptimizeFor(StrEnum):
    DISTANCE = "distance"
    TIME = "time"


class RouteConstraints(Body):
    max_distance_km: float | None = Field(default=None, gt=0, le=100_000)
    time_window_start: str | None = Field(default=None, description="shift start, HH:MM UTC")
    time_window_end: str | None = Field(default=None, description="shift end, HH:MM UTC")
    optimize_for: OptimizeFor = OptimizeFor.DISTANCE

    @field_validator("time_window_start", "time_window_end")
    @classmethod
    def _hhmm(cls, value: str | None) -> str | None:
        if value is not None and not HHMM.match(value):
            raise ValueError("expected HH:MM")
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if (
            self.time_window_start
            and self.time_window_end
            and self.time_window_end <= self.time_window_start
        ):
            raise ValueError("time_window_end must be after time_window_start")
        return self


class StopInput(Body):
    location_id: UUID
    load_kg: float = Field(default=0, ge=0, le=1_000_000, allow_inf_nan=False)
    service_time_minutes: int = Field(default=0, ge=0, le=24 * 60)
    time_window_start: AwareDatetime | None = None
    time_window_end: AwareDatetime | None = None
    notes: str | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _window(self) -> Self:
        if (
            self.time_window_start is not None
            and self.time_window_end is not None
            and self.time_window_end <= self.time_window_start
        ):
            raise ValueError("time_window_end must be after time_window_start")
        return self


class RouteCreate(Body):
    name: str | None = Field(default=None, max_length=200)
    vehicle_id: UUID | None = None
    depot_location_id: UUID | None = None
    optimization_mode: OptimizationMode = OptimizationMode.CLASSICAL
    planned_start: AwareDatetime | None = None
    stops: list[StopInput] = Field(min_length=1, max_length=MAX_STOPS)
    constraints: RouteConstraints = Field(default_factory=RouteConstraints)


class RouteUpdate(Body):
    """Changes to a draft route; `stops` replaces the whole list."""

    name: str | None = Field(default=None, max_length=200)
    vehicle_id: UUID | None = None
    depot_location_id: UUID | None = None
    optimization_mode: OptimizationMode | None = None
    planned_start: AwareDatetime | None = None
    stops: list[StopInput] | None = Field(default=None, min_length=1, max_length=MAX_STOPS)
    constraints: RouteConstraints | None = None


class OptimizeRequest(Body):
    time_limit_s: float | None = Field(default=None, gt=0, le=300, allow_inf_nan=False)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)


class FleetPlanRequest(Body):
    """Plan stops over several vehicles from one depot: one draft route per vehicle used."""

    name: str | None = Field(default=None, max_length=200)
    depot_location_id: UUID
    vehicle_ids: list[UUID] = Field(min_length=1, max_length=200)
    stops: list[StopInput] = Field(min_length=1, max_length=MAX_STOPS)
    planned_start: AwareDatetime | None = None
    constraints: RouteConstraints = Field(default_factory=RouteConstraints)
    time_limit_s: float | None = Field(default=None, gt=0, le=120, allow_inf_nan=False)

    @field_validator("vehicle_ids")
    @classmethod
    def _distinct(cls, value: list[UUID]) -> list[UUID]:
        if len(set(value)) != len(value):
            raise ValueError("vehicle ids must be distinct")
        return value


def default_time_limit(num_stops: int) -> float:
    """Solver budget when the client names none: small problems are solved exactly and fast;
    the default keeps a 50-stop optimization within a few seconds end to end."""
    if num_stops <= 15:
        return 1.0
    if num_stops <= 60:
        return 2.0
    return 5.0
