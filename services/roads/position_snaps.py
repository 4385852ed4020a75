"""Vehicle positions snapped to the road network where they are written, so that dispatch
ranks units by road time in SQL (services.operations.road_ranking) instead of snapping each
position again in Python.

A position is snapped as a ranking of the workspace's free units snaps it: onto the roads
every type among them may use (the mask is stored with the snap), within the configured
snap distance (a workspace's first positions: onto those of the vehicles moved). A ranking
of other types (a request for some types only, a new type in the fleet) finds the mask
differs and snaps those positions itself.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from core.settings import get_settings
from services.roads.network import active_network_and_types
from solvers.problem import Point
from solvers.roads import RoadNetwork, Snap, types_mask


@dataclass(frozen=True, slots=True)
class PositionSnaps:
    """Per position, the values of the vehicle's snap columns (None: no snap)."""

    version: list[int | None]
    mask: list[int | None]
    edge: list[int | None]
    fraction: list[float | None]
    offset_m: list[float | None]

    def params(self) -> dict[str, Any]:
        return {
            "snap_versions": self.version,
            "snap_masks": self.mask,
            "snap_edges": self.edge,
            "snap_fractions": self.fraction,
            "snap_offsets": self.offset_m,
        }


def snap_positions(
    network: RoadNetwork | None,
    vehicle_types: Collection[str],
    lngs: Sequence[float],
    lats: Sequence[float],
    wanted: Sequence[bool] | None = None,
) -> PositionSnaps:
    """The snaps of positions (those `wanted`, by default all) on `network` onto the roads
    of `vehicle_types` (None without a network or types, off it, or not wanted)."""
    n = len(lngs)
    picked = [i for i in range(n) if wanted is None or wanted[i]]
    if network is None or not vehicle_types or not picked:
        return PositionSnaps([None] * n, [None] * n, [None] * n, [None] * n, [None] * n)
    types = sorted(set(vehicle_types))
    mask = types_mask(types)
    max_snap_m = get_settings().road_max_snap_m
    points = [Point(lats[i], lngs[i]) for i in picked]
    snaps: list[Snap | None] = [None] * n
    for i, snap in zip(picked, network.snap_fresh(points, types, max_snap_m), strict=True):
        snaps[i] = snap
    return PositionSnaps(
        [None if s is None else network.version for s in snaps],
        [None if s is None else mask for s in snaps],
        [None if s is None else s.edge for s in snaps],
        [None if s is None else s.fraction for s in snaps],
        [None if s is None else s.offset_m for s in snaps],
    )


async def snaps_for(
    session: AsyncSession,
    workspace_id: UUID,
    lngs: Sequence[float],
    lats: Sequence[float],
    own_types: Collection[str],
    wanted: Sequence[bool],
) -> PositionSnaps:
    """The snaps of a workspace's positions (those `wanted`) on the active network (one
    query), onto the roads of its free vehicles' types; of `own_types` (the moved
    vehicles') while it has no free vehicle with a position yet (its first positions)."""
    if not any(wanted):
        return snap_positions(None, (), lngs, lats)
    network, types = await active_network_and_types(session, workspace_id)
    return snap_positions(network, types or own_types, lngs, lats, wanted)
