"""The experience configuration of a mode: what a dashboard calls things, shows and
enables. Each mode's defaults are a data file validated by `ExperienceConfig`; a
workspace's overrides are validated by merging them in and validating the result."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from core.validation import Body
from models.enums import ActiveMode, LocationType
from models.routing_inputs import OptimizeFor

Label = Annotated[str, StringConstraints(min_length=1, max_length=60)]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,59}$")]


class Terminology(Body):
    """What a stop, a route and a vehicle are called in this mode (singular, plural)."""

    stop: Label
    stops: Label
    route: Label
    routes: Label
    vehicle: Label
    vehicles: Label


class Features(Body):
    optimization: bool
    quantum: bool
    live_tracking: bool
    incidents: bool
    dispatch: bool
    analytics: bool


class SlaMinutes(Body):
    """Response SLA per incident severity, in minutes."""

    critical: int = Field(ge=1, le=10_080)
    high: int = Field(ge=1, le=10_080)
    medium: int = Field(ge=1, le=10_080)
    low: int = Field(ge=1, le=10_080)


class ExperienceConfig(Body):
    mode: ActiveMode
    version: int = Field(ge=1)
    label: Label
    description: str = Field(min_length=1, max_length=500)
    terminology: Terminology
    features: Features
    default_location_types: list[LocationType] = Field(min_length=1)
    optimize_for: OptimizeFor
    sla_minutes: SlaMinutes
    kpis: list[Key] = Field(max_length=30)
    map_layers: list[Key] = Field(max_length=30)


# What a workspace may not override: which mode a file describes and its version.
FIXED_KEYS = frozenset({"mode", "version"})
