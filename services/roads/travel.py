"""Which travel a plan is priced with, chosen once per plan and recorded in its problem.

A workspace's `settings.travel_source` picks it:
- `auto` (default): the road network when every point lies within the snap distance of a
  road its vehicles may use, else great-circle travel for the whole plan;
- `road`: the road network, and a request with a point off it is refused, naming it;
- `great_circle`: great-circle distance times 1.3, as before road networks.

A plan never mixes the two. The choice (`source`, the network `version`, and the locations
that were off the network) goes into the canonical problem, so it is part of the cache key,
is reported with the result, and the worker prices the plan with the same network version.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from core.settings import get_settings
from models.identity_inputs import TRAVEL_SOURCES
from services.roads.network import active_version, load_network, travel_setting_and_network
from solvers.matrix import HaversineProvider, MatrixProvider
from solvers.problem import Point
from solvers.roads import RoadMatrixProvider, RoadNetwork

GREAT_CIRCLE: dict[str, Any] = {"source": "great_circle"}


def road_provider(network: RoadNetwork) -> RoadMatrixProvider:
    settings = get_settings()
    return RoadMatrixProvider(
        network,
        max_snap_m=settings.road_max_snap_m,
        vehicle_speeds_kmh=settings.road_vehicle_speeds_kmh,
    )


async def choose_travel(
    session: AsyncSession,
    workspace_id: UUID,
    locations: Sequence[tuple[str, float, float]],
    vehicle_types: Collection[str],
) -> dict[str, Any]:
    """The travel of a plan over `locations` (id, lng, lat), as recorded in its problem:
    one query for the workspace's setting and the active version, the network from memory."""
    setting, network = await travel_setting_and_network(session, workspace_id)
    wanted = setting if setting in TRAVEL_SOURCES else "auto"
    if wanted == "great_circle":
        return {**GREAT_CIRCLE, "reason": "workspace setting"}
    if network is None:
        if wanted == "road":
            raise ValidationFailed.field("travel_source", "no road network has been imported")
        return {**GREAT_CIRCLE, "reason": "no road network"}
    provider = road_provider(network)
    points = [Point(lat=lat, lon=lng) for _, lng, lat in locations]
    snaps = network.snap(points, vehicle_types or ("van",), provider.max_snap_m)
    off = list(dict.fromkeys(loc[0] for loc, s in zip(locations, snaps, strict=True) if s is None))
    if not off:
        return {"source": "road", "network_version": network.version}
    if wanted == "road":
        raise ValidationFailed.field(
            "location_id",
            f"farther than {provider.max_snap_m:g} m from the road network: {', '.join(off)}",
        )
    return {**GREAT_CIRCLE, "reason": "off the road network", "off_network": off}


async def provider_for(session: AsyncSession, travel: dict[str, Any] | None) -> MatrixProvider:
    """The provider a plan was priced with: the road network of its version (or, if that
    version was pruned meanwhile, the active one), else great-circle travel."""
    if not travel or travel.get("source") != "road":
        return HaversineProvider()
    network = await load_network(session, int(travel["network_version"]))
    if network is None:
        version = await active_version(session)
        network = await load_network(session, version) if version is not None else None
    return road_provider(network) if network is not None else HaversineProvider()
