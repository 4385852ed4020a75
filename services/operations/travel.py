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

from core.errors import ValidationFailed
from models.geo import GeoPoint
from services.roads.travel import choose_travel, provider_for
from solvers.matrix import HaversineProvider, MatrixProvider
from solvers.problem import Point, TravelMatrix
from solvers.roads import Lnglat, OffNetwork, RoadMatrixProvider

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


async def ranking_provider(
    session: AsyncSession, workspace_id: UUID, scene: GeoPoint
) -> MatrixProvider:
    """The provider that ranks units for a scene in this workspace."""
    try:
        travel = await choose_travel(session, workspace_id, [("scene", scene.lng, scene.lat)], ())
    except ValidationFailed:
        return GREAT_CIRCLE
    if travel.get("source") != "road":
        return GREAT_CIRCLE
    return RoadFirst(await provider_for(session, travel))


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
