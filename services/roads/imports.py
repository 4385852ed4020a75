"""Importing a road network: a new version is built beside the active one and switched
to in the same transaction, so that a plan being made meanwhile reads one whole network.

Runs as the schema owner (the application role only reads `roads`). A failed import
rolls back entirely and leaves the active version serving.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from services.roads.osm import OsmImportError, read_edges

# Versions kept after a switch: the active one and the one before it, which jobs queued
# before the switch may still be solving with.
KEEP_VERSIONS = 2

_STAGE = """
    CREATE TEMP TABLE road_edges_stage (
        id bigint, source bigint, target bigint, osm_way_id bigint, highway text,
        speed_kmh real, forward_mask smallint, backward_mask smallint, wkt text
    ) ON COMMIT DROP
"""
_FILL = """
    INSERT INTO roads.edges (version, id, source, target, osm_way_id, highway, length_m,
                             speed_kmh, forward_mask, backward_mask, geom)
    SELECT $1, id, source, target, osm_way_id, highway,
           ST_Length(ST_GeomFromText(wkt, 4326)::geography), speed_kmh, forward_mask,
           backward_mask, ST_GeomFromText(wkt, 4326)
    FROM road_edges_stage
"""
_RETIRE = "UPDATE roads.networks SET status = 'retired' WHERE status = 'active'"
_SWITCH = """
    WITH counted AS (
        SELECT count(*) AS edges,
               ST_ConvexHull(ST_Collect(geom)) AS hull
        FROM roads.edges WHERE version = $1
    )
    UPDATE roads.networks n
    SET status = 'active', activated_at = now(), edge_count = c.edges, node_count = $2,
        coverage = CASE WHEN GeometryType(c.hull) = 'POLYGON' THEN c.hull END
    FROM counted c WHERE n.version = $1
"""
_PRUNE = """
    DELETE FROM roads.networks
    WHERE version NOT IN (SELECT version FROM roads.networks ORDER BY version DESC LIMIT $1)
"""


@dataclass(frozen=True, slots=True)
class ImportedNetwork:
    version: int
    edges: int
    nodes: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _plain(dsn: str) -> str:
    return dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


async def active_network(dsn: str) -> int | None:
    """The active version, or None when no network was imported."""
    conn = await asyncpg.connect(_plain(dsn))
    try:
        version: int | None = await conn.fetchval(
            "SELECT version FROM roads.networks WHERE status = 'active'"
        )
        return version
    finally:
        await conn.close()


async def import_network(dsn: str, path: Path, *, name: str | None = None) -> ImportedNetwork:
    """Read `path` (`.osm.pbf` or `.osm`), write it as a new version and make it active.

    Raises `OsmImportError` before touching the database when the file is missing, empty,
    corrupt or has no routable road."""
    edges = await asyncio.to_thread(read_edges, path)
    digest = await asyncio.to_thread(_sha256, path)
    conn = await asyncpg.connect(_plain(dsn))
    try:
        async with conn.transaction():
            version = await conn.fetchval(
                "INSERT INTO roads.networks (name, source_file, source_sha256)"
                " VALUES ($1, $2, $3) RETURNING version",
                name or path.name,
                path.name,
                digest,
            )
            await conn.execute(_STAGE)
            await conn.copy_records_to_table(
                "road_edges_stage",
                records=zip(
                    range(1, len(edges) + 1),
                    edges.source,
                    edges.target,
                    edges.way_id,
                    edges.highway,
                    edges.speed_kmh,
                    edges.forward_mask,
                    edges.backward_mask,
                    edges.wkt,
                    strict=True,
                ),
            )
            await conn.execute(_FILL, version)
            await conn.execute(_RETIRE)
            await conn.execute(_SWITCH, version, edges.node_count)
            await conn.execute(_PRUNE, KEEP_VERSIONS)
    finally:
        await conn.close()
    return ImportedNetwork(version=version, edges=len(edges), nodes=edges.node_count)


__all__ = ["ImportedNetwork", "OsmImportError", "import_network"]
