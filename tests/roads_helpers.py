"""Road networks for tests: the shipped Helsinki sample, and small hand-drawn maps."""

from __future__ import annotations

from pathlib import Path

from services.roads.imports import ImportedNetwork, import_network
from tests.conftest import ROOT, DatabaseUnderTest

HELSINKI = ROOT / "data" / "roads" / "helsinki.osm.pbf"
# Inside the sample's streets: a depot near the railway station and customers around it.
HELSINKI_DEPOT = (24.9414, 60.1699)
HELSINKI_CUSTOMERS = [
    (24.9458, 60.1687),
    (24.9385, 60.1668),
    (24.9502, 60.1712),
    (24.9440, 60.1745),
    (24.9392, 60.1721),
    (24.9479, 60.1660),
]


async def import_sample(database: DatabaseUnderTest) -> ImportedNetwork:
    return await import_network(database.owner_dsn, HELSINKI)


def osm_xml(nodes: dict[int, tuple[float, float]], ways: list[tuple[int, list[int], dict]]) -> str:
    """An `.osm` document: nodes as id -> (lng, lat), ways as (id, node ids, tags)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    for node_id, (lng, lat) in nodes.items():
        lines.append(f'<node id="{node_id}" version="1" lat="{lat}" lon="{lng}"/>')
    for way_id, refs, tags in ways:
        lines.append(f'<way id="{way_id}" version="1">')
        lines += [f'<nd ref="{ref}"/>' for ref in refs]
        lines += [f'<tag k="{k}" v="{v}"/>' for k, v in tags.items()]
        lines.append("</way>")
    lines.append("</osm>")
    return "\n".join(lines)


# A village at 60.30 N, 25.30 E: the short road from A to B is closed to lorries
# (`hgv=no`); the way round through C and D is open to all. E-F is an island road.
VILLAGE_NODES = {
    1: (25.3000, 60.3000),  # A
    2: (25.3040, 60.3000),  # B
    3: (25.3000, 60.3030),  # C
    4: (25.3040, 60.3030),  # D
    5: (25.3200, 60.3000),  # E, an island 900 m east of B
    6: (25.3240, 60.3000),  # F
}
VILLAGE_WAYS = [
    (10, [1, 2], {"highway": "residential", "hgv": "no"}),
    (11, [1, 3, 4, 2], {"highway": "residential"}),
    (12, [5, 6], {"highway": "residential"}),
]


def write_village(folder: Path) -> Path:
    path = folder / "village.osm"
    path.write_text(osm_xml(VILLAGE_NODES, VILLAGE_WAYS))
    return path
