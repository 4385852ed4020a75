"""The travel that dispatch ranks responders with: the workspace's plan travel, so that a
road network, where the scene lies on it, ranks units by road time as plans are priced.

An emergency ranking must always answer: a scene off the network (or a workspace that
insists on roads for its plans) ranks by great-circle travel, and so does one ranking
whose candidates include a vehicle off the network. Each ranking uses one source only.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from models.geo import GeoPoint
from services.roads.network import travel_setting_and_network
from services.roads.travel import road_provider
from solvers.matrix import HaversineProvider, MatrixProvider, TravelTo, travel_to
from solvers.problem import Point, TravelMatrix
from solvers.roads import Lnglat, OffNetwork, RoadMatrixProvider, RoadNetwork

GREAT_CIRCLE = HaversineProvider()


@dataclass(frozen=True)
class RoadFirst:
    """Road travel, or great-circle travel for a ranking with a point off the network."""

    road: MatrixProvider

    def matrix(self, points: Sequence[Point], vehicle_types: Collection[str]) -> TravelMatrix:
        try:
            return self.road.matrix(points, vehicle_types)
        except OffNetwork:
            return GREAT_CIRCLE.matrix(points, vehicle_types)

    def least_seconds(self, metres: float, vehicle_type: str) -> float:
        """A lower bound on the travel of a point `metres` away, by whichever source ranks."""
        great_circle = (
            metres * GREAT_CIRCLE.detour_factor / (GREAT_CIRCLE.speed_kmh(vehicle_type) / 3.6)
        )
        road = getattr(self.road, "least_seconds", None)
        return min(great_circle, road(metres, vehicle_type)) if road is not None else 0.0

    def travel_to(
        self, points: Sequence[Point], target: Point, vehicle_types: Collection[str]
    ) -> TravelTo:
        """The matrix's column `target` (one backward search per cost on roads)."""
        try:
            return travel_to(self.road, points, target, vehicle_types)
        except OffNetwork:
            return travel_to(GREAT_CIRCLE, points, target, vehicle_types)


@dataclass(frozen=True)
class Ranking:
    """A workspace's ranking travel as selected once (its setting and the active network):
    the provider for each scene follows from it without another query."""

    network: RoadNetwork | None

    def for_scene(self, scene: GeoPoint) -> MatrixProvider:
        """Road travel where the scene lies on the network, else great-circle travel."""
        if self.network is None:
            return GREAT_CIRCLE
        road = road_provider(self.network)
        [snap] = self.network.snap([Point(scene.lat, scene.lng)], ("van",), road.max_snap_m)
        return GREAT_CIRCLE if snap is None else RoadFirst(road)


async def ranking(session: AsyncSession, workspace_id: UUID) -> Ranking:
    """The workspace's ranking travel: one query (its `travel_source` setting and the
    active network version), the network's arrays from memory."""
    setting, network = await travel_setting_and_network(session, workspace_id)
    return Ranking(None if setting == "great_circle" else network)


async def ranking_provider(
    session: AsyncSession, workspace_id: UUID, scene: GeoPoint
) -> MatrixProvider:
    """The provider that ranks units for a scene in this workspace."""
    return (await ranking(session, workspace_id)).for_scene(scene)


def leg(provider: MatrixProvider, start: Point, end: Point, vehicle_type: str) -> list[Lnglat]:
    """A unit's way from `start` to `end`: along the streets under road travel, else (or
    where either end is off the network) the straight line."""
    if isinstance(provider, RoadFirst) and isinstance(provider.road, RoadMatrixProvider):
        try:
            [line] = provider.road.legs([start, end], [vehicle_type])
        except OffNetwork:
            line = []
        if len(line) >= 2:
            return line
    return [(start.lon, start.lat), (end.lon, end.lat)]
