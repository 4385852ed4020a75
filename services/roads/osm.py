"""Reading an OpenStreetMap extract into road edges, with pyosmium (libosmium's bindings:
it reads `.osm.pbf` and `.osm` alike, and resolves node locations for us).

A way is cut at every node it shares with another routable way, so that each edge joins two
junctions (or dead ends) and keeps the geometry in between. Which vehicle types may use an
edge, in which direction, and at what speed follows the way's tags.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import osmium

BIKE, CAR, VAN, TRUCK = 1, 2, 4, 8
MOTOR = CAR | VAN | TRUCK
ALL = BIKE | MOTOR
VEHICLE_BITS: dict[str, int] = {"bike": BIKE, "car": CAR, "van": VAN, "truck": TRUCK}

# Road class: (vehicle types allowed, speed in km/h where no `maxspeed` is tagged).
HIGHWAYS: dict[str, tuple[int, float]] = {
    "motorway": (MOTOR, 100.0),
    "motorway_link": (MOTOR, 60.0),
    "trunk": (MOTOR, 80.0),
    "trunk_link": (MOTOR, 50.0),
    "primary": (ALL, 50.0),
    "primary_link": (ALL, 40.0),
    "secondary": (ALL, 40.0),
    "secondary_link": (ALL, 35.0),
    "tertiary": (ALL, 35.0),
    "tertiary_link": (ALL, 30.0),
    "unclassified": (ALL, 30.0),
    "residential": (ALL, 30.0),
    "road": (ALL, 30.0),
    "living_street": (BIKE | CAR | VAN, 10.0),
    "service": (ALL, 15.0),
    "track": (BIKE | CAR | VAN, 15.0),
    "cycleway": (BIKE, 18.0),
    # Footways, paths and pedestrian streets: bikes only where tagged `bicycle=yes`.
    "path": (0, 12.0),
    "footway": (0, 10.0),
    "pedestrian": (0, 10.0),
    "bridleway": (0, 10.0),
}
_NO = {"no", "private", "agricultural", "forestry"}
_YES = {"yes", "designated", "permissive", "destination", "delivery", "customers"}
# The access tags that open or close a road to each vehicle type, most general first.
_ACCESS_KEYS: tuple[tuple[str, int], ...] = (
    ("access", ALL),
    ("vehicle", ALL),
    ("motor_vehicle", MOTOR),
    ("motorcar", CAR),
    ("goods", VAN),
    ("hgv", TRUCK),
    ("bicycle", BIKE),
)
_MPH = 1.609344


class OsmImportError(ValueError):
    """The extract cannot be imported; the message says why."""


@dataclass(slots=True)
class Edges:
    """Edges as parallel lists; nodes are numbered from 0 in order of first use."""

    source: list[int] = field(default_factory=list)
    target: list[int] = field(default_factory=list)
    way_id: list[int] = field(default_factory=list)
    highway: list[str] = field(default_factory=list)
    speed_kmh: list[float] = field(default_factory=list)
    forward_mask: list[int] = field(default_factory=list)
    backward_mask: list[int] = field(default_factory=list)
    wkt: list[str] = field(default_factory=list)
    node_count: int = 0

    def __len__(self) -> int:
        return len(self.source)


def access_mask(tags: dict[str, str]) -> int:
    """Vehicle types that may use a way, from its class and its access tags."""
    if tags.get("highway") not in HIGHWAYS:
        return 0
    allowed, _ = HIGHWAYS[tags["highway"]]
    for key, bits in _ACCESS_KEYS:
        value = tags.get(key)
        if value in _NO:
            allowed &= ~bits
        elif value in _YES:
            allowed |= bits
    return allowed


def speed_kmh(tags: dict[str, str]) -> float:
    """`maxspeed` where it is a number (km/h, or mph when it says so), else the class's."""
    _, default = HIGHWAYS.get(tags.get("highway", ""), (0, 30.0))
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(mph)?\s*", tags.get("maxspeed", ""))
    if match is None:
        return default
    value = float(match.group(1)) * (_MPH if match.group(2) else 1.0)
    return value if value > 0 else default


def directions(tags: dict[str, str], allowed: int) -> tuple[int, int]:
    """(forward, backward) masks: one-way streets and roundabouts close one direction; a
    bike may ride against the flow where `oneway:bicycle=no`."""
    oneway = tags.get("oneway", "")
    if tags.get("junction") in ("roundabout", "circular") and oneway == "":
        oneway = "yes"
    if tags.get("highway") in ("motorway", "motorway_link") and oneway == "":
        oneway = "yes"
    against = BIKE if tags.get("oneway:bicycle") == "no" else 0
    if oneway in ("yes", "true", "1"):
        return allowed, allowed & against
    if oneway == "-1":
        return allowed & against, allowed
    return allowed, allowed


class _Ways(osmium.SimpleHandler):
    def __init__(self) -> None:
        super().__init__()
        self.ways: list[tuple[int, dict[str, str], list[int], list[tuple[float, float]]]] = []

    def way(self, way: osmium.osm.Way) -> None:
        tags = {tag.k: tag.v for tag in way.tags}
        if tags.get("area") == "yes" or access_mask(tags) == 0:
            return
        refs: list[int] = []
        coords: list[tuple[float, float]] = []
        for node in way.nodes:
            if not node.location.valid():
                continue  # a node cut off by the extract's boundary
            refs.append(node.ref)
            coords.append((node.location.lon, node.location.lat))
        if len(refs) >= 2:
            self.ways.append((way.id, tags, refs, coords))


def read_edges(path: Path) -> Edges:
    """Routable edges of an extract; raises `OsmImportError` for a missing, empty or
    unreadable file, or one without any routable road."""
    if not path.is_file():
        raise OsmImportError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise OsmImportError(f"{path}: the file is empty")
    handler = _Ways()
    try:
        handler.apply_file(str(path), locations=True)
    except Exception as exc:  # libosmium raises plain RuntimeErrors for bad input
        raise OsmImportError(f"{path}: not a readable OpenStreetMap extract ({exc})") from exc
    uses = Counter(ref for _, _, refs, _ in handler.ways for ref in refs)
    ends = {ref for _, _, refs, _ in handler.ways for ref in (refs[0], refs[-1])}
    numbers: dict[int, int] = {}
    edges = Edges()
    for way_id, tags, refs, coords in handler.ways:
        allowed = access_mask(tags)
        forward, backward = directions(tags, allowed)
        speed = speed_kmh(tags)
        start = 0
        for i in range(1, len(refs)):
            if i < len(refs) - 1 and uses[refs[i]] < 2 and refs[i] not in ends:
                continue
            part = coords[start : i + 1]
            if len(set(part)) >= 2:
                edges.source.append(numbers.setdefault(refs[start], len(numbers)))
                edges.target.append(numbers.setdefault(refs[i], len(numbers)))
                edges.way_id.append(way_id)
                edges.highway.append(tags["highway"])
                edges.speed_kmh.append(speed)
                edges.forward_mask.append(forward)
                edges.backward_mask.append(backward)
                edges.wkt.append(
                    "LINESTRING(" + ",".join(f"{x:.7f} {y:.7f}" for x, y in part) + ")"
                )
            start = i
    edges.node_count = len(numbers)
    if not edges:
        raise OsmImportError(f"{path}: no routable roads in this extract")
    return edges
