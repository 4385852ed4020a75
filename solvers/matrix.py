"""Distance and duration matrices from coordinates.

The default provider uses great-circle distance times a detour factor, and a speed per
vehicle type. A road-network provider implements the same ``MatrixProvider`` protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from solvers.problem import IntMatrix, Point, TravelMatrix

EARTH_RADIUS_M = 6_371_008.8

DEFAULT_SPEEDS_KMH: Mapping[str, float] = {
    "bike": 15.0,
    "car": 45.0,
    "van": 40.0,
    "truck": 35.0,
}


class MatrixProvider(Protocol):
    """Computes travel distances and, per vehicle type, durations between points."""

    def matrix(self, points: Sequence[Point], vehicle_types: Collection[str]) -> TravelMatrix:
        """Return the matrix for ``points`` with a duration matrix per vehicle type."""
        ...


def haversine_m(points: Sequence[Point]) -> np.ndarray:
    """Great-circle distances in metres between all pairs of points (float matrix)."""
    lat = np.radians(np.array([p.lat for p in points], dtype=float))
    lon = np.radians(np.array([p.lon for p in points], dtype=float))
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(frozen=True)
class HaversineProvider:
    """Great-circle distance times ``detour_factor``; durations from a speed per vehicle type."""

    detour_factor: float = 1.3
    speeds_kmh: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_SPEEDS_KMH))
    default_speed_kmh: float = 40.0

    def __post_init__(self) -> None:
        if self.detour_factor < 1.0:
            raise ValueError("detour_factor below 1 would undercut the straight line")
        if self.default_speed_kmh <= 0 or any(s <= 0 for s in self.speeds_kmh.values()):
            raise ValueError("speeds must be positive")

    def speed_kmh(self, vehicle_type: str) -> float:
        """Travel speed used for a vehicle type."""
        return self.speeds_kmh.get(vehicle_type, self.default_speed_kmh)

    def matrix(self, points: Sequence[Point], vehicle_types: Collection[str]) -> TravelMatrix:
        """Distances in whole metres; durations in whole seconds per vehicle type."""
        metres = haversine_m(points) * self.detour_factor
        distance: IntMatrix = np.rint(metres).astype(np.int64)
        durations = {
            vtype: np.rint(metres / (self.speed_kmh(vtype) / 3.6)).astype(np.int64)
            for vtype in vehicle_types
        }
        return TravelMatrix(distance=distance, durations=durations)
