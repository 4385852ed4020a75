"""Problem model: depots, stops, vehicles and the travel matrix between them.

Units are metres and seconds. Times are seconds from an arbitrary origin chosen by the
caller (usually midnight of the planning day). Location indices of the matrix are the
depots first, then the stops, in the order given.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from solvers.matrix import MatrixProvider

IntMatrix = npt.NDArray[np.int64]

# Large enough for a week of planning and small enough to stay exact in every engine.
MAX_TIME = 10**9

# Loads are handled by the engines as integers: grams and litres.
LOAD_SCALE = 1000
# Integer capacity standing for "no limit".
UNLIMITED = np.iinfo(np.int32).max


@dataclass(frozen=True, slots=True)
class Point:
    """A position; planar instances may put y in ``lat`` and x in ``lon``."""

    lat: float
    lon: float


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval ``[start, end]`` of seconds."""

    start: int = 0
    end: int = MAX_TIME

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"time window starts after it ends: {self.start} > {self.end}")


@dataclass(frozen=True, slots=True)
class Depot:
    """Where vehicles start and end; the window bounds departures and returns."""

    id: str
    point: Point
    time_window: TimeWindow = TimeWindow()


@dataclass(frozen=True, slots=True)
class Stop:
    """A delivery: demand per load dimension, service time and a start-of-service window."""

    id: str
    point: Point
    demand_kg: float = 0.0
    demand_m3: float = 0.0
    service_time: int = 0
    time_window: TimeWindow = TimeWindow()
    vehicle_type: str | None = None
    """When set, only vehicles of this type may serve the stop."""

    def __post_init__(self) -> None:
        if self.demand_kg < 0 or self.demand_m3 < 0 or self.service_time < 0:
            raise ValueError(f"stop {self.id}: demands and service time must be >= 0")


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A vehicle; ``None`` capacities and range mean unlimited."""

    id: str
    start_depot: str
    end_depot: str | None = None
    """Defaults to the start depot."""
    capacity_kg: float | None = None
    capacity_m3: float | None = None
    shift: TimeWindow = TimeWindow()
    max_range_km: float | None = None
    cost_per_km: float = 1.0
    vehicle_type: str = "van"

    def __post_init__(self) -> None:
        if self.cost_per_km <= 0:
            raise ValueError(f"vehicle {self.id}: cost_per_km must be positive")


@dataclass(frozen=True)
class TravelMatrix:
    """Distances (metres) shared by all vehicles and durations (seconds) per vehicle type."""

    distance: IntMatrix
    durations: Mapping[str, IntMatrix]

    def __post_init__(self) -> None:
        n = self.distance.shape[0]
        if self.distance.shape != (n, n):
            raise ValueError("distance matrix must be square")
        for vtype, dur in self.durations.items():
            if dur.shape != (n, n):
                raise ValueError(f"duration matrix of {vtype!r} has the wrong shape")

    @property
    def size(self) -> int:
        return int(self.distance.shape[0])

    def duration(self, vehicle_type: str) -> IntMatrix:
        """Duration matrix for a vehicle type."""
        return self.durations[vehicle_type]


@dataclass(frozen=True)
class Problem:
    """A routing problem: every stop is served once by one vehicle, or reported unassigned."""

    depots: tuple[Depot, ...]
    stops: tuple[Stop, ...]
    vehicles: tuple[Vehicle, ...]
    matrix: TravelMatrix = field(repr=False)

    def __post_init__(self) -> None:
        if not self.depots:
            raise ValueError("a problem needs at least one depot")
        if not self.vehicles:
            raise ValueError("a problem needs at least one vehicle")
        _require_unique("depot", (d.id for d in self.depots))
        _require_unique("stop", (s.id for s in self.stops))
        _require_unique("vehicle", (v.id for v in self.vehicles))
        if self.matrix.size != len(self.depots) + len(self.stops):
            raise ValueError(
                f"matrix has {self.matrix.size} locations, expected "
                f"{len(self.depots) + len(self.stops)} (depots, then stops)"
            )
        depot_ids = {d.id for d in self.depots}
        for v in self.vehicles:
            if v.start_depot not in depot_ids or (v.end_depot or v.start_depot) not in depot_ids:
                raise ValueError(f"vehicle {v.id} refers to an unknown depot")
            if v.vehicle_type not in self.matrix.durations:
                raise ValueError(f"no duration matrix for vehicle type {v.vehicle_type!r}")

    @classmethod
    def build(
        cls,
        depots: Sequence[Depot],
        stops: Sequence[Stop],
        vehicles: Sequence[Vehicle],
        provider: MatrixProvider | None = None,
    ) -> Problem:
        """Build a problem, computing the matrix with ``provider`` (haversine by default)."""
        from solvers.matrix import HaversineProvider

        provider = provider or HaversineProvider()
        points = [d.point for d in depots] + [s.point for s in stops]
        matrix = provider.matrix(points, {v.vehicle_type for v in vehicles})
        return cls(tuple(depots), tuple(stops), tuple(vehicles), matrix)

    @property
    def num_stops(self) -> int:
        return len(self.stops)

    @cached_property
    def _depot_index(self) -> dict[str, int]:
        return {d.id: i for i, d in enumerate(self.depots)}

    def stop_location(self, stop: int) -> int:
        """Matrix index of a stop."""
        return len(self.depots) + stop

    def start_location(self, vehicle: int) -> int:
        """Matrix index of a vehicle's start depot."""
        return self._depot_index[self.vehicles[vehicle].start_depot]

    def end_location(self, vehicle: int) -> int:
        """Matrix index of a vehicle's end depot."""
        v = self.vehicles[vehicle]
        return self._depot_index[v.end_depot or v.start_depot]

    def earliest_departure(self, vehicle: int) -> int:
        """Earliest time a vehicle may leave its start depot (shift and depot opening)."""
        depot = self.depots[self.start_location(vehicle)]
        return max(self.vehicles[vehicle].shift.start, depot.time_window.start)

    def latest_return(self, vehicle: int) -> int:
        """Latest time a vehicle may be back at its end depot (shift and depot closing)."""
        depot = self.depots[self.end_location(vehicle)]
        return min(self.vehicles[vehicle].shift.end, depot.time_window.end)

    def max_distance(self, vehicle: int) -> int | None:
        """Range limit in metres, or ``None``."""
        km = self.vehicles[vehicle].max_range_km
        return None if km is None else math.floor(km * 1000 + 1e-6)

    def can_serve(self, vehicle: int, stop: int) -> bool:
        """Whether the stop's vehicle-type requirement admits the vehicle."""
        required = self.stops[stop].vehicle_type
        return required is None or required == self.vehicles[vehicle].vehicle_type

    @cached_property
    def demands(self) -> npt.NDArray[np.int64]:
        """Integer demands (grams, litres), shape (stops, 2); rounded up, never understated."""
        raw = np.array([[s.demand_kg, s.demand_m3] for s in self.stops], dtype=float)
        return np.ceil(raw.reshape(-1, 2) * LOAD_SCALE - 1e-6).astype(np.int64)

    @cached_property
    def capacities(self) -> npt.NDArray[np.int64]:
        """Integer capacities (grams, litres), shape (vehicles, 2); unlimited is a huge value."""
        big = UNLIMITED
        rows = []
        for v in self.vehicles:
            row = []
            for cap in (v.capacity_kg, v.capacity_m3):
                row.append(big if cap is None else math.floor(cap * LOAD_SCALE + 1e-6))
            rows.append(row)
        return np.array(rows, dtype=np.int64)

    @cached_property
    def load_dimensions(self) -> tuple[int, ...]:
        """Load dimensions that matter: some stop has a demand in them."""
        used = self.demands.sum(axis=0) > 0 if self.stops else np.zeros(2, dtype=bool)
        return tuple(int(i) for i in np.flatnonzero(used))

    @cached_property
    def vehicle_kinds(self) -> tuple[tuple[int, ...], ...]:
        """Vehicle indices grouped by identical attributes (everything but the id)."""
        kinds: dict[tuple[object, ...], list[int]] = {}
        for v, veh in enumerate(self.vehicles):
            key = (
                self.start_location(v),
                self.end_location(v),
                tuple(int(c) for c in self.capacities[v]),
                self.earliest_departure(v),
                self.latest_return(v),
                self.max_distance(v),
                veh.cost_per_km,
                veh.vehicle_type,
            )
            kinds.setdefault(key, []).append(v)
        return tuple(tuple(members) for members in kinds.values())

    def restrict(self, stops: Sequence[int], vehicles: Sequence[int]) -> Problem:
        """The same problem with only the given stops and vehicles (all depots kept)."""
        locs = list(range(len(self.depots))) + [self.stop_location(s) for s in stops]
        sub = np.ix_(locs, locs)
        used = {self.vehicles[v].vehicle_type for v in vehicles}
        matrix = TravelMatrix(
            distance=self.matrix.distance[sub],
            durations={t: m[sub] for t, m in self.matrix.durations.items() if t in used},
        )
        return Problem(
            depots=self.depots,
            stops=tuple(self.stops[s] for s in stops),
            vehicles=tuple(self.vehicles[v] for v in vehicles),
            matrix=matrix,
        )

    def stop_index(self) -> dict[str, int]:
        """Map stop id to stop index."""
        return {s.id: i for i, s in enumerate(self.stops)}


def _require_unique(kind: str, ids: Iterable[str]) -> None:
    seen: set[str] = set()
    for i in ids:
        if i in seen:
            raise ValueError(f"duplicate {kind} id {i!r}")
        seen.add(i)
