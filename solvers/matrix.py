"""Distance and duration matrices from coordinates.

The default provider uses great-circle distance times a detour factor, and a speed per
vehicle type. A road-network provider implements the same ``MatrixProvider`` protocol.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from solvers.problem import IntMatrix, Point, TravelMatrix

IntArray = npt.NDArray[np.int64]

EARTH_RADIUS_M = 6_371_008.8

DEFAULT_SPEEDS_KMH: Mapping[str, float] = {
    "bike": 15.0,
    "car": 45.0,
    "van": 40.0,
    "truck": 35.0,
}


class MatrixProvider(Protocol):
    """Computes travel distances and, per vehicle type, durations between points.

    A provider may also offer ``durations_to(points, target, vehicle_type)`` (seconds from
    each point to one target, for ranking many candidates) and ``travel_to(points, target,
    vehicle_types)`` (that column of the whole matrix); `durations_to` and `travel_to` below
    fall back to a column of the matrix for one that does not."""

    def matrix(self, points: Sequence[Point], vehicle_types: Collection[str]) -> TravelMatrix:
        """Return the matrix for ``points`` with a duration matrix per vehicle type."""
        ...


def durations_to(
    provider: MatrixProvider, points: Sequence[Point], target: Point, vehicle_type: str
) -> IntArray:
    """Whole seconds from each point to ``target`` for one vehicle type."""
    own = getattr(provider, "durations_to", None)
    if own is not None:
        result: IntArray = own(points, target, vehicle_type)
        return result
    return provider.matrix([target, *points], [vehicle_type]).durations[vehicle_type][1:, 0]


class TimeBound(Protocol):
    """The least time to one target from anywhere at least some straight-line distance away,
    under the travel that ranked points towards it."""

    def least_seconds(self, metres: float) -> float:
        """No point `metres` or more away takes less (float seconds)."""
        ...

    def radius(self, seconds: float) -> float:
        """Every point farther than this (metres) takes more than `seconds`."""
        ...


@dataclass(frozen=True, slots=True)
class TravelTo:
    """Whole metres and, per vehicle type, whole seconds from each point to one target; and,
    where the provider can bound the points not asked about from the same search, that
    bound per vehicle type (dispatch stops reading candidates with it)."""

    distance: IntArray
    durations: dict[str, IntArray]
    bounds: Mapping[str, TimeBound] = field(default_factory=dict)


def travel_to(
    provider: MatrixProvider,
    points: Sequence[Point],
    target: Point,
    vehicle_types: Collection[str],
) -> TravelTo:
    """Column `target` of `provider.matrix([target, *points], vehicle_types)`, from the
    provider's own `travel_to` where it has one (one search per cost, not one per point)."""
    own = getattr(provider, "travel_to", None)
    if own is not None:
        result: TravelTo = own(points, target, vehicle_types)
        return result
    matrix = provider.matrix([target, *points], vehicle_types)
    return TravelTo(
        matrix.distance[1:, 0],
        {vtype: durations[1:, 0] for vtype, durations in matrix.durations.items()},
    )


def _radians(points: Sequence[Point]) -> tuple[np.ndarray, np.ndarray]:
    lat = np.radians(np.array([p.lat for p in points], dtype=float))
    lon = np.radians(np.array([p.lon for p in points], dtype=float))
    return lat, lon


def _great_circle(
    lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray
) -> np.ndarray:
    a = (
        np.sin((lat1 - lat2) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon1 - lon2) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def haversine_m(points: Sequence[Point]) -> np.ndarray:
    """Great-circle distances in metres between all pairs of points (float matrix)."""
    lat, lon = _radians(points)
    return _great_circle(lat[:, None], lon[:, None], lat[None, :], lon[None, :])


def haversine_to_m(points: Sequence[Point], target: Point) -> np.ndarray:
    """Great-circle distances in metres from each point to ``target``."""
    lat, lon = _radians(points)
    (lat0,), (lon0,) = _radians([target])
    return _great_circle(lat, lon, lat0, lon0)


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

    def durations_to(self, points: Sequence[Point], target: Point, vehicle_type: str) -> IntArray:
        """Whole seconds from each point to ``target``, without the full matrix."""
        return self.travel_to(points, target, [vehicle_type]).durations[vehicle_type]

    def travel_to(
        self, points: Sequence[Point], target: Point, vehicle_types: Collection[str]
    ) -> TravelTo:
        """The matrix's column ``target`` without the matrix: ranking thousands of
        candidates must not build thousands squared."""
        metres = haversine_to_m(points, target) * self.detour_factor
        return TravelTo(
            np.rint(metres).astype(np.int64),
            {
                vtype: np.rint(metres / (self.speed_kmh(vtype) / 3.6)).astype(np.int64)
                for vtype in vehicle_types
            },
        )

    def matrix(self, points: Sequence[Point], vehicle_types: Collection[str]) -> TravelMatrix:
        """Distances in whole metres; durations in whole seconds per vehicle type."""
        metres = haversine_m(points) * self.detour_factor
        distance: IntMatrix = np.rint(metres).astype(np.int64)
        durations = {
            vtype: np.rint(metres / (self.speed_kmh(vtype) / 3.6)).astype(np.int64)
            for vtype in vehicle_types
        }
        return TravelMatrix(distance=distance, durations=durations)
