"""Result model shared by every backend."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

UnassignedReason = Literal["capacity", "time_window", "range", "vehicle_type", "unreachable"]
OptimizationMode = Literal["classical", "hybrid", "quantum"]

ProgressCallback = Callable[[float, float], None]
"""Called with (best cost so far, seconds elapsed) whenever a solver improves."""


@dataclass(frozen=True, slots=True)
class Visit:
    """One stop on a route: arrival, start of service (after any wait) and departure."""

    stop: int
    stop_id: str
    arrival: int
    start: int
    departure: int

    @property
    def wait(self) -> int:
        return self.start - self.arrival


@dataclass(frozen=True, slots=True)
class Route:
    """A vehicle's tour from its start depot to its end depot."""

    vehicle: int
    vehicle_id: str
    visits: tuple[Visit, ...]
    departure: int
    """Time the vehicle leaves its start depot."""
    arrival: int
    """Time the vehicle is back at its end depot."""
    distance_m: int
    load_kg: float
    load_m3: float

    @property
    def duration_s(self) -> int:
        return self.arrival - self.departure

    @property
    def stops(self) -> tuple[int, ...]:
        return tuple(v.stop for v in self.visits)


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A stop no vehicle serves, and the constraint that kept it out."""

    stop: int
    stop_id: str
    reason: UnassignedReason


@dataclass(frozen=True)
class Solution:
    """Routes (non-empty ones only), unassigned stops and how the result was obtained."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    cost: float
    """Sum over routes of distance in km times the vehicle's cost per km."""
    solver: str
    """Engine that produced the routes, e.g. ``pyvrp`` or ``exact``."""
    elapsed_s: float
    lower_bound: float | None = None
    proven_optimal: bool = False
    backend: str = "classical"
    """Family that actually ran: ``classical`` (or, later, ``quantum``)."""
    requested_mode: OptimizationMode = "classical"
    fallback_reason: str | None = None

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)

    @property
    def duration_s(self) -> int:
        return sum(r.duration_s for r in self.routes)

    @property
    def gap(self) -> float | None:
        """Relative gap to the lower bound, when one is known."""
        if self.lower_bound is None:
            return None
        if self.cost <= 0:
            return 0.0
        return max(0.0, (self.cost - self.lower_bound) / self.cost)

    def route_of(self, vehicle_id: str) -> Route | None:
        """The route driven by a vehicle, if it has one."""
        return next((r for r in self.routes if r.vehicle_id == vehicle_id), None)
