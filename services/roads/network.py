"""The road network in memory: loaded once per process and shared by every request and
job; a newly imported version is picked up on the next plan, without a restart.

Each plan asks which version is active (one row) and gets that version's arrays from
memory; only a version not yet seen is read from the database. Two versions are
kept, so jobs queued before an import finish on the network they were priced with.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from datetime import datetime
from uuid import UUID

import numpy as np
import shapely
from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from models.fleet import FREE_TYPES
from solvers.roads import RoadNetwork

KEPT_IN_MEMORY = 2
_ACTIVE = text("SELECT version FROM roads.networks WHERE status = 'active'")
_EDGES = text(
    """
    SELECT source, target, length_m, speed_kmh, forward_mask, backward_mask,
           ST_AsBinary(geom) AS wkb
    FROM roads.edges WHERE version = :version ORDER BY id
    """
)
_IMPORTED = text("SELECT imported_at FROM roads.networks WHERE version = :version")
# A workspace's travel setting and the active version, in one round trip.
_SELECTION = text(
    """
    SELECT (SELECT settings->>'travel_source' FROM workspaces WHERE id = :id),
           n.version, n.imported_at
    FROM (SELECT 1) one LEFT JOIN roads.networks n ON n.status = 'active'
    """
)

# Per process; two loads of one version at once (the API and an in-process worker) both
# read it and one wins: harmless, and simpler than a lock shared across event loops.
# Keyed by version and import time: two databases served by one process (tests) may both
# have a version 1.
_loaded: OrderedDict[tuple[int, str], RoadNetwork] = OrderedDict()


async def active_version(session: AsyncSession) -> int | None:
    """The version plans are made with now, or None when no network was imported."""
    return (await session.execute(_ACTIVE)).scalar_one_or_none()


# The active version and the types of the workspace's free vehicles with a position (a
# skip scan of `idx_vehicles_dispatch_types`): the roads a ranking of them snaps to.
_ACTIVE_AND_TYPES = text(
    f"""
    {FREE_TYPES}
    SELECT n.version, n.imported_at,
           ARRAY(SELECT vehicle_type FROM present WHERE vehicle_type IS NOT NULL)
    FROM (SELECT 1) one LEFT JOIN roads.networks n ON n.status = 'active'
    """  # noqa: S608 (constants only)
)


async def active_network_and_types(
    session: AsyncSession, workspace_id: UUID
) -> tuple[RoadNetwork | None, list[str]]:
    """The active network (its arrays from memory) and the types of the workspace's free
    vehicles with a position, in one query."""
    version, imported, types = (
        await session.execute(_ACTIVE_AND_TYPES, {"workspace_id": workspace_id})
    ).one()
    network = None if version is None else await _network(session, version, imported)
    return network, list(types)


async def travel_setting_and_network(
    session: AsyncSession, workspace_id: UUID
) -> tuple[str | None, RoadNetwork | None]:
    """The workspace's `travel_source` setting and the active network (None when none was
    imported), in one query; the network's arrays come from memory once read."""
    row = (await session.execute(_SELECTION, {"id": workspace_id})).one()
    setting, version, imported = row
    if version is None:
        return setting, None
    return setting, await _network(session, version, imported)


async def load_network(session: AsyncSession, version: int) -> RoadNetwork | None:
    """A version's network, from memory or read once; None if it no longer exists."""
    imported = (await session.execute(_IMPORTED, {"version": version})).scalar_one_or_none()
    if imported is None:
        return None
    return await _network(session, version, imported)


async def _network(session: AsyncSession, version: int, imported: datetime) -> RoadNetwork:
    key = (version, imported.isoformat())
    network = _loaded.get(key)
    if network is not None:
        return network
    rows = (await session.execute(_EDGES, {"version": version})).all()
    network = await asyncio.to_thread(_arrays, version, list(rows))
    _loaded[key] = network
    while len(_loaded) > KEPT_IN_MEMORY:
        _loaded.popitem(last=False)
    return network


async def read_network(url: str, version: int) -> RoadNetwork | None:
    """A version's network read over its own connection (`postgresql+asyncpg://` URL), for
    tools and benchmarks that have no session."""
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    try:
        async with AsyncSession(engine) as session:
            return await load_network(session, version)
    finally:
        await engine.dispose()


def _arrays(version: int, rows: list[object]) -> RoadNetwork:
    columns = list(zip(*rows, strict=True))
    lines = shapely.from_wkb(np.array(columns[6], dtype=object))
    coords, owner = shapely.get_coordinates(lines, return_index=True)
    offsets = np.searchsorted(owner, np.arange(len(rows) + 1)).astype(np.int64)
    source = np.array(columns[0], dtype=np.int64)
    target = np.array(columns[1], dtype=np.int64)
    return RoadNetwork(
        version=version,
        num_nodes=int(max(source.max(), target.max())) + 1,
        source=source,
        target=target,
        length_m=np.array(columns[2], dtype=float),
        speed_kmh=np.array(columns[3], dtype=float),
        forward_mask=np.array(columns[4], dtype=np.int64),
        backward_mask=np.array(columns[5], dtype=np.int64),
        coords=coords,
        offsets=offsets,
    )
