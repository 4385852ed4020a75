"""Travel along a road network: matrices and leg geometry between arbitrary points.

A point is snapped to the nearest edge its vehicles may use (not only the nearest
junction), within a maximum distance; the straight piece from the point to its snap is
part of the cost, driven at that edge's speed. Shortest paths run over a directed graph
with one arc per open direction of each edge, plus, for each query, a virtual source and
a virtual target node per point that join it to the two ends of its edge at the right
fraction of the edge's cost.

The distance matrix is the shortest distance over the roads that every requested vehicle
type may use; each duration matrix is the fastest time for its vehicle type, at the
road's speed capped by the vehicle's. A pair that no road joins is `UNREACHABLE`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import shapely

from solvers.matrix import TravelTo
from solvers.problem import IntMatrix, Point, TravelMatrix

if TYPE_CHECKING:
    from scipy.sparse import csr_array

    from solvers.hierarchy import Hierarchy

UNREACHABLE = 10**9
"""Matrix entry of a pair that no road joins (metres or seconds): far beyond any route."""

SNAPS_KEPT = 200_000
"""Positions whose snaps a network keeps per vehicle-types mask and snap distance."""

GOALS_KEPT = 8
"""Targets whose backward search a graph keeps (the latest)."""

VEHICLE_BITS: Mapping[str, int] = {"bike": 1, "car": 2, "van": 4, "truck": 8}
# The most any vehicle type drives, whatever the road allows.
DEFAULT_VEHICLE_SPEEDS_KMH: Mapping[str, float] = {
    "bike": 18.0,
    "car": 110.0,
    "van": 90.0,
    "truck": 80.0,
}
_METRES_PER_DEGREE = math.pi / 180 * 6_371_008.8
_MIN_COST = 1e-9  # scipy drops arcs of weight 0
FloatArray = npt.NDArray[np.float64]
Lnglat = tuple[float, float]


class OffNetwork(ValueError):
    """Points farther from any usable road than the snap distance."""

    def __init__(self, indexes: list[int]) -> None:
        super().__init__(f"points {indexes} are off the road network")
        self.indexes = indexes


_UNSEEN = object()


@dataclass(frozen=True, slots=True)
class Snap:
    """Where a point joins the network: an edge, the fraction along it from its source, the
    snapped position and the point's distance to it in metres."""

    edge: int
    fraction: float
    lng: float
    lat: float
    offset_m: float


@dataclass(frozen=True, slots=True)
class _Pieces:
    """A search tree over some of a network's pieces of road, and their piece numbers."""

    tree: shapely.STRtree
    ids: npt.NDArray[np.int64]

    def nearest(
        self, geoms: npt.NDArray[np.object_], max_m: float
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], FloatArray]:
        """For the points with a piece within `max_m`: their indexes, the nearest piece's
        number and the distance to it."""
        (who, found), gap = self.tree.query_nearest(
            geoms, max_distance=max_m, return_distance=True, all_matches=False
        )
        return who, self.ids[found], gap


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """One version of a road network as arrays (edge `i` runs from `source[i]` to
    `target[i]`; its geometry is `coords[offsets[i]:offsets[i + 1]]`, as (lng, lat))."""

    version: int
    num_nodes: int
    source: npt.NDArray[np.int64]
    target: npt.NDArray[np.int64]
    length_m: FloatArray
    speed_kmh: FloatArray
    forward_mask: npt.NDArray[np.int64]
    backward_mask: npt.NDArray[np.int64]
    coords: FloatArray
    offsets: npt.NDArray[np.int64]
    _graphs: dict[tuple[str, int, float], _Graph] = field(default_factory=dict, repr=False)
    _snap_trees: dict[int, tuple[_Pieces, _Pieces]] = field(default_factory=dict, repr=False)
    # Snaps of positions seen before, per (types mask, snap distance): a vehicle that has
    # not moved is not searched for again (dispatch ranks hundreds of them per incident).
    _snapped: dict[tuple[int, float], dict[tuple[float, float], Snap | None]] = field(
        default_factory=dict, repr=False
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def num_edges(self) -> int:
        return len(self.source)

    @cached_property
    def top_speed_kmh(self) -> float:
        """The fastest any road of the network may be driven."""
        return float(self.speed_kmh.max()) if self.num_edges else 0.0

    @cached_property
    def origin(self) -> tuple[float, float, float]:
        """(lng0, lat0, cos lat0) of the local plane that snapping measures in."""
        lng0, lat0 = self.coords.mean(axis=0)
        return float(lng0), float(lat0), math.cos(math.radians(lat0))

    def to_plane(self, lnglat: FloatArray) -> FloatArray:
        lng0, lat0, cos0 = self.origin
        return np.column_stack(
            (
                (lnglat[:, 0] - lng0) * cos0 * _METRES_PER_DEGREE,
                (lnglat[:, 1] - lat0) * _METRES_PER_DEGREE,
            )
        )

    def to_lnglat(self, xy: FloatArray) -> FloatArray:
        lng0, lat0, cos0 = self.origin
        return np.column_stack(
            (xy[:, 0] / (cos0 * _METRES_PER_DEGREE) + lng0, xy[:, 1] / _METRES_PER_DEGREE + lat0)
        )

    @cached_property
    def _segments(self) -> tuple[shapely.STRtree, npt.NDArray[np.int64], FloatArray, FloatArray]:
        """Every straight piece of every edge in the plane: a search tree over them, the
        edge each belongs to, its start's distance along the edge, and each edge's length in
        the plane (the fraction along an edge is measured there)."""
        xy = self.to_plane(self.coords)
        counts = np.diff(self.offsets)
        starts = np.arange(len(xy) - 1)
        # Pieces that would join the last vertex of one edge to the first of the next.
        starts = starts[np.isin(starts, self.offsets[1:] - 1, invert=True)]
        edge_of = np.repeat(np.arange(self.num_edges, dtype=np.int64), counts - 1)
        pieces = np.linalg.norm(xy[starts + 1] - xy[starts], axis=1)
        along = np.cumsum(pieces) - pieces
        first = np.concatenate(([0], np.cumsum(counts - 1)[:-1]))
        along -= along[first][edge_of]
        plane_length = np.bincount(edge_of, weights=pieces, minlength=self.num_edges)
        lines = shapely.linestrings(np.stack((xy[starts], xy[starts + 1]), axis=1))
        return shapely.STRtree(lines), edge_of, along.astype(float), plane_length.astype(float)

    @cached_property
    def _piece_spans(
        self,
    ) -> tuple[FloatArray, npt.NDArray[np.int64], FloatArray, FloatArray]:
        """Every straight piece of road in the plane: its two ends (n x 2 x 2), its edge, and
        the fractions of that edge where it starts and ends (as snapping measures them)."""
        tree, edge_of, along, plane_length = self._segments
        ends = shapely.get_coordinates(tree.geometries).reshape(-1, 2, 2)
        pieces = np.linalg.norm(ends[:, 1] - ends[:, 0], axis=1)
        length = plane_length[edge_of]
        safe = np.where(length > 0, length, 1.0)
        start = np.clip(np.where(length > 0, along / safe, 0.0), 0, 1)
        end = np.clip(np.where(length > 0, (along + pieces) / safe, 1.0), 0, 1)
        return ends, edge_of, start, end

    def _trees(self, vehicle_types: Collection[str]) -> tuple[_Pieces, _Pieces]:
        """Search trees over the pieces of road every one of `vehicle_types` may use: those
        of the main strongly connected network, and all of them. Built once per mask."""
        need = _mask(vehicle_types)
        with self._lock:
            trees = self._snap_trees.get(need)
        if trees is not None:
            return trees
        tree, edge_of, _, _ = self._segments
        usable = ((self.forward_mask | self.backward_mask) & need) == need
        main = self.graph("distance", vehicle_types).main_edges
        lines = tree.geometries
        picked = []
        for keep in (usable & main, usable):
            ids = np.flatnonzero(keep[edge_of])
            picked.append(_Pieces(shapely.STRtree(lines[ids]), ids))
        trees = (picked[0], picked[1])
        with self._lock:
            self._snap_trees[need] = trees
        return trees

    def snap(
        self, points: Sequence[Point], vehicle_types: Collection[str], max_snap_m: float
    ) -> list[Snap | None]:
        """Each point's snap onto the nearest edge open (in some direction) to every one of
        `vehicle_types`, or None beyond `max_snap_m`.

        An edge of the main network wins over a nearer one in a fragment (a one-way trap
        where the extract was cut, a private yard): from there every other point of the
        main network can be reached. A point near only a fragment snaps to it.

        Positions snapped before are answered from memory (up to `SNAPS_KEPT` per mask and
        distance; then that memory starts over)."""
        kept = self._snapped.setdefault((_mask(vehicle_types), max_snap_m), {})
        keys = [(p.lon, p.lat) for p in points]
        snaps = [kept.get(k, _UNSEEN) for k in keys]
        new = [i for i, s in enumerate(snaps) if s is _UNSEEN]
        if new:
            found = self._snap([points[i] for i in new], vehicle_types, max_snap_m)
            if len(kept) + len(new) > SNAPS_KEPT:
                kept.clear()
            for i, s in zip(new, found, strict=True):
                snaps[i] = kept[keys[i]] = s
        return snaps  # type: ignore[return-value]

    def snap_fresh(
        self, points: Sequence[Point], vehicle_types: Collection[str], max_snap_m: float
    ) -> list[Snap | None]:
        """`snap` without its memory: positions written once (ingest) would only fill it."""
        return self._snap(points, vehicle_types, max_snap_m) if points else []

    def _snap(
        self, points: Sequence[Point], vehicle_types: Collection[str], max_snap_m: float
    ) -> list[Snap | None]:
        _, edge_of, along, plane_length = self._segments
        pieces = self._piece_spans[0]
        xy = self.to_plane(np.array([(p.lon, p.lat) for p in points], dtype=float).reshape(-1, 2))
        geoms = shapely.points(xy)
        main, usable = self._trees(vehicle_types)
        who, near, gap = main.nearest(geoms, max_snap_m)
        rest = np.setdiff1d(np.arange(len(points)), who)
        if len(rest):
            more, far, apart = usable.nearest(geoms[rest], max_snap_m)
            who = np.concatenate((who, rest[more]))
            near = np.concatenate((near, far))
            gap = np.concatenate((gap, apart))
        ends = pieces[near]
        a, ab = ends[:, 0], ends[:, 1] - ends[:, 0]
        span = np.einsum("ij,ij->i", ab, ab)
        t = np.clip(np.einsum("ij,ij->i", xy[who] - a, ab) / np.where(span > 0, span, 1), 0, 1)
        edge = edge_of[near]
        length = plane_length[edge]
        safe = np.where(length > 0, length, 1)
        fraction = np.clip(np.where(length > 0, (along[near] + t * np.sqrt(span)) / safe, 0), 0, 1)
        at = self.to_lnglat(a + t[:, None] * ab)
        snaps: list[Snap | None] = [None] * len(points)
        for i, e, f, lng, lat, off in zip(
            who.tolist(),
            edge.tolist(),
            fraction.tolist(),
            at[:, 0].tolist(),
            at[:, 1].tolist(),
            gap.tolist(),
            strict=True,
        ):
            snaps[i] = Snap(e, f, lng, lat, off)
        return snaps

    def graph(self, kind: str, vehicle_types: Collection[str], cap_kmh: float = 0.0) -> _Graph:
        """The directed graph of a cost: `distance` over the roads every type may use, or
        `time` for one vehicle type capped at `cap_kmh`. Built once per network."""
        need = _mask(vehicle_types)
        key = (kind, need, cap_kmh)
        with self._lock:
            graph = self._graphs.get(key)
            if graph is None:
                if kind == "distance":
                    cost = self.length_m
                else:
                    speed = np.minimum(self.speed_kmh, cap_kmh) / 3.6
                    cost = self.length_m / speed
                graph = _Graph.build(self, cost, need)
                self._graphs[key] = graph
            return graph


def _firsts(tail: npt.NDArray[np.int64], head: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
    """Of arcs sorted by (tail, head, cost), the first of each (tail, head) pair."""
    first = np.ones(len(tail), dtype=bool)
    first[1:] = (tail[1:] != tail[:-1]) | (head[1:] != head[:-1])
    return first


def types_mask(vehicle_types: Collection[str]) -> int:
    """The bits of the vehicle types whose roads a snap may use (unknown types as vans)."""
    return _mask(vehicle_types)


def _mask(vehicle_types: Collection[str]) -> int:
    mask = 0
    for vtype in vehicle_types:
        mask |= VEHICLE_BITS.get(vtype, VEHICLE_BITS["van"])
    return mask


@dataclass(frozen=True, eq=False)
class _Graph:
    """Arcs of one cost: the cheapest arc per ordered node pair, and the edge behind it."""

    network: RoadNetwork
    cost: FloatArray  # per edge
    forward: npt.NDArray[np.bool_]  # per edge: open from source to target
    backward: npt.NDArray[np.bool_]
    tail: npt.NDArray[np.int64]
    head: npt.NDArray[np.int64]
    weight: FloatArray
    arc_edge: npt.NDArray[np.int64]
    arc_forward: npt.NDArray[np.bool_]
    _hierarchy: list[Hierarchy] = field(default_factory=list, repr=False)
    _building: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _to_goal: dict[tuple[int, float], FloatArray] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, network: RoadNetwork, cost: FloatArray, need: int) -> _Graph:
        forward = (network.forward_mask & need) == need
        backward = (network.backward_mask & need) == need
        edges = np.arange(network.num_edges)
        tail = np.concatenate((network.source[forward], network.target[backward]))
        head = np.concatenate((network.target[forward], network.source[backward]))
        weight = np.maximum(np.concatenate((cost[forward], cost[backward])), _MIN_COST)
        arc_edge = np.concatenate((edges[forward], edges[backward]))
        arc_forward = np.concatenate((np.ones(forward.sum(), bool), np.zeros(backward.sum(), bool)))
        # Parallel arcs (two ways between the same junctions): the cheapest one stays.
        order = np.lexsort((weight, head, tail))
        first = _firsts(tail[order], head[order])
        keep = order[first]
        return cls(
            network,
            cost,
            forward,
            backward,
            tail[keep],
            head[keep],
            weight[keep],
            arc_edge[keep],
            arc_forward[keep],
        )

    @cached_property
    def main_edges(self) -> npt.NDArray[np.bool_]:
        """Edges inside the largest strongly connected part of this graph."""
        from scipy.sparse import csr_array
        from scipy.sparse.csgraph import connected_components

        nodes = self.network.num_nodes
        arcs = csr_array((self.weight, (self.tail, self.head)), shape=(nodes, nodes))
        _, labels = connected_components(arcs, directed=True, connection="strong")
        main = labels == np.argmax(np.bincount(labels))
        return np.asarray(main[self.network.source] & main[self.network.target])

    def _ends(
        self, snaps: Sequence[Snap]
    ) -> tuple[list[tuple[int, int, float]], list[tuple[int, int, float]]]:
        """Arcs from each point's virtual source to its edge's ends, and from the ends to its
        virtual target, as (point, node, cost)."""
        net = self.network
        leave: list[tuple[int, int, float]] = []
        enter: list[tuple[int, int, float]] = []
        for i, snap in enumerate(snaps):
            e, f = snap.edge, snap.fraction
            c = float(self.cost[e])
            u, v = int(net.source[e]), int(net.target[e])
            if self.forward[e]:
                leave.append((i, v, (1 - f) * c))
                enter.append((i, u, f * c))
            if self.backward[e]:
                leave.append((i, u, f * c))
                enter.append((i, v, (1 - f) * c))
        return leave, enter

    def _query_graph(self, snaps: Sequence[Snap]) -> csr_array:
        from scipy.sparse import csr_array

        n, nodes = len(snaps), self.network.num_nodes
        leave, enter = self._ends(snaps)
        tail = np.concatenate(
            (self.tail, [nodes + i for i, _, _ in leave], [v for _, v, _ in enter])
        )
        head = np.concatenate(
            (self.head, [v for _, v, _ in leave], [nodes + n + i for i, _, _ in enter])
        )
        weight = np.concatenate(
            (
                self.weight,
                [max(c, _MIN_COST) for *_, c in leave],
                [max(c, _MIN_COST) for *_, c in enter],
            )
        )
        size = nodes + 2 * n
        # Two arcs between one point's node and a junction (a loop edge): keep the cheaper.
        order = np.lexsort((weight, head, tail))
        keep = order[_firsts(tail[order], head[order])]
        return csr_array((weight[keep], (tail[keep], head[keep])), shape=(size, size))

    def _direct(self, a: Snap, b: Snap) -> float:
        """Cost along the shared edge from a to b without leaving it (inf if none)."""
        if a.edge != b.edge:
            return math.inf
        c = float(self.cost[a.edge])
        if b.fraction >= a.fraction and self.forward[a.edge]:
            return (b.fraction - a.fraction) * c
        if b.fraction <= a.fraction and self.backward[a.edge]:
            return (a.fraction - b.fraction) * c
        return math.inf

    @property
    def hierarchy(self) -> Hierarchy:
        """This graph's contraction hierarchy, built once on first use by one thread (numba
        is imported here, not by the web processes that never price a large network)."""
        with self._building:
            if self._hierarchy:
                return self._hierarchy[0]
            from solvers.hierarchy import Hierarchy

            built = Hierarchy.build(self.network.num_nodes, self.tail, self.head, self.weight)
            self._hierarchy.append(built)
            return built

    def costs(
        self, snaps: Sequence[Snap], sources: Sequence[int] | None = None, hierarchy: bool = False
    ) -> FloatArray:
        """Float costs between snapped points along the roads (without the snap pieces):
        rows `sources` (all by default), every point as a column; inf where no road. With
        `hierarchy`, through the contraction hierarchy instead of one Dijkstra per row."""
        from scipy.sparse.csgraph import dijkstra  # loaded by the solver path only

        n, nodes = len(snaps), self.network.num_nodes
        rows = list(range(n)) if sources is None else list(sources)
        if hierarchy:
            leave, enter = self._ends(snaps)
            exits: list[list[tuple[int, float]]] = [[] for _ in snaps]
            entries: list[list[tuple[int, float]]] = [[] for _ in snaps]
            for i, v, c in leave:
                exits[i].append((v, c))
            for i, v, c in enter:
                entries[i].append((v, c))
            result = self.hierarchy.many_to_many([exits[i] for i in rows], entries)
        else:
            graph = self._query_graph(snaps)
            dist = dijkstra(graph, directed=True, indices=[nodes + i for i in rows])
            result = np.asarray(dist, dtype=float).reshape(len(rows), -1)[:, nodes + n :]
        on_edge: dict[int, list[int]] = {}
        for j, snap in enumerate(snaps):
            on_edge.setdefault(snap.edge, []).append(j)
        for r, i in enumerate(rows):
            for j in on_edge[snaps[i].edge]:
                result[r, j] = min(result[r, j], self._direct(snaps[i], snaps[j]))
            result[r, i] = 0.0
        return result

    @cached_property
    def _reverse(self) -> csr_array:
        from scipy.sparse import csr_array

        nodes = self.network.num_nodes
        return csr_array((self.weight, (self.head, self.tail)), shape=(nodes, nodes))

    def to_goal(self, goal: Snap) -> FloatArray:
        """Each junction's cost to `goal` along the roads (inf where none leads there): a
        search backwards from each end of the goal's edge that leads onto it. The last few
        goals' are kept: one dispatch ranks, bounds and explains towards the same scene."""
        from scipy.sparse.csgraph import dijkstra  # loaded by the solver path only

        key = (goal.edge, goal.fraction)
        with self._building:
            kept = self._to_goal.get(key)
        if kept is not None:
            return kept
        net = self.network
        e, f = goal.edge, goal.fraction
        c = float(self.cost[e])
        into = [(int(net.source[e]), f * c)] if self.forward[e] else []
        if self.backward[e]:
            into.append((int(net.target[e]), (1 - f) * c))
        to_goal = np.full(net.num_nodes, np.inf)
        if into:
            back = dijkstra(self._reverse, directed=True, indices=[v for v, _ in into])
            for row, (_, extra) in zip(np.atleast_2d(back), into, strict=True):
                to_goal = np.minimum(to_goal, row + extra)
        to_goal.setflags(write=False)
        with self._building:
            if len(self._to_goal) >= GOALS_KEPT:
                self._to_goal.pop(next(iter(self._to_goal)))
            self._to_goal[key] = to_goal
        return to_goal

    def costs_to(self, snaps: Sequence[Snap], goal: Snap) -> FloatArray:
        """Float costs from every snapped point to `goal` (without the snap pieces)."""
        edges = np.array([s.edge for s in snaps], dtype=np.int64)
        fraction = np.array([s.fraction for s in snaps], dtype=float)
        return self.costs_on(edges, fraction, goal)

    def leaving(
        self,
        edges: npt.NDArray[np.int64],
        ahead: FloatArray,
        behind: FloatArray,
        to_goal: FloatArray,
    ) -> FloatArray:
        """The cheaper way off each edge to the goal: from fraction `ahead` on to its target
        where it is open that way, from `behind` back to its source where open that way,
        each plus that junction's cost to the goal (`to_goal`)."""
        net = self.network
        cost = self.cost[edges]
        return np.minimum(
            np.where(self.forward[edges], (1 - ahead) * cost + to_goal[net.target[edges]], np.inf),
            np.where(self.backward[edges], behind * cost + to_goal[net.source[edges]], np.inf),
        )

    def costs_on(
        self, edges: npt.NDArray[np.int64], fraction: FloatArray, goal: Snap
    ) -> FloatArray:
        """Float costs to `goal` from the points at `fraction` along `edges`: each the
        cheaper way off its edge plus that junction's cost to the goal, or straight along
        the goal's own edge."""
        result = self.leaving(edges, fraction, fraction, self.to_goal(goal))
        c = float(self.cost[goal.edge])
        on = edges == goal.edge
        if self.forward[goal.edge]:
            ahead = on & (fraction <= goal.fraction)
            result[ahead] = np.minimum(result[ahead], (goal.fraction - fraction[ahead]) * c)
        if self.backward[goal.edge]:
            behind = on & (fraction >= goal.fraction)
            result[behind] = np.minimum(result[behind], (fraction[behind] - goal.fraction) * c)
        return result

    def paths(self, snaps: Sequence[Snap], legs: Sequence[tuple[int, int]]) -> list[list[Lnglat]]:
        """The cheapest way for each leg (i, j), as (lng, lat) from i's snap to j's snap."""
        from scipy.sparse.csgraph import dijkstra  # loaded by the solver path only

        n, nodes = len(snaps), self.network.num_nodes
        graph = self._query_graph(snaps)
        origins = sorted({i for i, _ in legs})
        dist, pred = dijkstra(
            graph, directed=True, indices=[nodes + i for i in origins], return_predecessors=True
        )
        row_of = {i: r for r, i in enumerate(origins)}
        result: list[list[Lnglat]] = []
        for i, j in legs:
            a, b = snaps[i], snaps[j]
            r = row_of[i]
            via = float(dist[r, nodes + n + j])
            direct = self._direct(a, b)
            if i == j or (direct <= via and direct < math.inf):
                part = self._part(a.edge, a.fraction, b.fraction)
                result.append([(float(x), float(y)) for x, y in part])
                continue
            if via == math.inf:
                result.append([(a.lng, a.lat), (b.lng, b.lat)])
                continue
            chain = [nodes + n + j]
            while chain[-1] != nodes + i:
                chain.append(int(pred[r, chain[-1]]))
            chain.reverse()  # point i, junctions..., point j
            junctions = np.array(chain[1:-1], dtype=np.int64)
            net = self.network
            start = self._part(
                a.edge, a.fraction, 0.0 if junctions[0] == net.source[a.edge] else 1.0
            )
            end = self._part(
                b.edge, 0.0 if junctions[-1] == net.source[b.edge] else 1.0, b.fraction
            )
            middle = self._arcs_line(junctions)
            line = (
                np.vstack((start, middle[1:], end[1:]))
                if len(middle)
                else np.vstack((start, end[1:]))
            )
            result.append([(float(x), float(y)) for x, y in line])
        return result

    @cached_property
    def _arc_keys(self) -> npt.NDArray[np.int64]:
        """tail * nodes + head per arc: sorted, since the arcs are sorted by (tail, head)."""
        return self.tail * self.network.num_nodes + self.head

    def _arcs_line(self, junctions: npt.NDArray[np.int64]) -> FloatArray:
        """(lng, lat) along the arcs joining consecutive junctions (empty for one)."""
        if len(junctions) < 2:
            return np.empty((0, 2))
        keys = junctions[:-1] * self.network.num_nodes + junctions[1:]
        arcs = np.searchsorted(self._arc_keys, keys)
        net = self.network
        pieces = []
        for k, arc in enumerate(arcs.tolist()):
            e = int(self.arc_edge[arc])
            coords = net.coords[net.offsets[e] : net.offsets[e + 1]]
            coords = coords if self.arc_forward[arc] else coords[::-1]
            pieces.append(coords if k == 0 else coords[1:])
        return np.vstack(pieces)

    def _part(self, edge: int, start: float, end: float) -> FloatArray:
        """(lng, lat) of the edge between two fractions (reversed when end < start); the
        fractions are of its length in the plane, as snapping measures them."""
        net = self.network
        lnglat = net.coords[net.offsets[edge] : net.offsets[edge + 1]]
        xy = net.to_plane(lnglat)
        along = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(xy, axis=0), axis=1))))
        total = along[-1]
        lo, hi = sorted((start, end))
        cut = np.array([lo, hi]) * total
        inner = (along > cut[0]) & (along < cut[1])
        ends = np.column_stack(
            (np.interp(cut, along, lnglat[:, 0]), np.interp(cut, along, lnglat[:, 1]))
        )
        coords = np.vstack((ends[:1], lnglat[inner], ends[1:]))
        return coords[::-1] if end < start else coords


# Great-circle metres against the plane the network is measured in: a bound drawn from a
# straight-line distance takes 1 % off it.
_PLANE_SLACK = 0.99


@dataclass(frozen=True, eq=False)
class Reach:
    """Lower bounds on one vehicle type's road time to a target from the points at least
    some straight-line distance away, drawn from the backward search that ranked points
    towards it (a `TimeBound`).

    A point joins the roads at its snap, on some piece of road; the snap lies no farther
    from the target than that piece's far end, so a point `m` metres away first covers at
    least `m - far` metres to its snap at that road's speed, then at least the least cost
    from any spot of the piece to the target. The least over all pieces bounds every point
    that far out; so does the straight line at the network's top speed, the looser bound
    it replaces near the target."""

    graph: _Graph
    goal: Snap
    target: Point
    arrive_s: float  # from the goal's snap to the target
    speed: FloatArray  # per edge, metres per second at this type's cap
    top: float  # metres per second

    @cached_property
    def _pieces(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Per piece of road: its far end's distance to the target in the plane, the speed
        a point's approach to it is driven at, and the least cost from any spot of it."""
        net, graph, goal = self.graph.network, self.graph, self.goal
        ends, edge_of, start, end = net._piece_spans
        at = net.to_plane(np.array([[self.target.lon, self.target.lat]]))[0]
        far = np.maximum(
            np.linalg.norm(ends[:, 0] - at, axis=1), np.linalg.norm(ends[:, 1] - at, axis=1)
        )
        least = graph.leaving(edge_of, end, start, graph.to_goal(goal))
        c = float(graph.cost[goal.edge])
        on = edge_of == goal.edge
        g = goal.fraction
        direct = np.where(on & (start <= g) & (g <= end), 0.0, np.inf)
        if graph.forward[goal.edge]:
            direct = np.where(on & (end < g), (g - end) * c, direct)
        if graph.backward[goal.edge]:
            direct = np.where(on & (start > g), (start - g) * c, direct)
        return far, self.speed[edge_of], np.minimum(least, direct)

    def least_seconds(self, metres: float) -> float:
        """No point `metres` or more from the target in a straight line takes less."""
        plane = _PLANE_SLACK * metres
        far, speed, least = self._pieces
        step = np.maximum(0.0, plane - far) / speed + least
        by_pieces = self.arrive_s + float(np.min(step, initial=np.inf))
        line = plane / self.top if self.top > 0 else math.inf
        return min(max(line, by_pieces), float(UNREACHABLE))

    def radius(self, seconds: float) -> float:
        """Every point farther than this from the target in a straight line takes more than
        `seconds` (the least distance for which `least_seconds` says so)."""
        far, speed, least = self._pieces
        slack = seconds - self.arrive_s
        near = least <= slack
        by_pieces = (
            float(np.max(far[near] + (slack - least[near]) * speed[near])) if near.any() else 0.0
        )
        line = seconds * self.top if self.top > 0 else math.inf
        return max(0.0, min(line, by_pieces)) / _PLANE_SLACK


@dataclass(frozen=True)
class RoadMatrixProvider:
    """A `MatrixProvider` over a `RoadNetwork`; also draws each leg along the streets."""

    network: RoadNetwork
    max_snap_m: float = 200.0
    vehicle_speeds_kmh: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_VEHICLE_SPEEDS_KMH)
    )
    # Networks with this many arcs or more are priced through a contraction hierarchy
    # (built once per cost, then about 0.3 s for 200 x 200 points on 300,000 arcs, where
    # 200 Dijkstra runs take 4-5 s); below it plain Dijkstra needs no preparation.
    hierarchy_from_arcs: int = 50_000

    def __post_init__(self) -> None:
        if not 0 < self.max_snap_m <= 5000:
            raise ValueError("max_snap_m must be within (0, 5000] metres")
        if any(not 0 < s <= 300 for s in self.vehicle_speeds_kmh.values()):
            raise ValueError("vehicle speeds must be within (0, 300] km/h")

    @property
    def source(self) -> str:
        return "road"

    def speed_kmh(self, vehicle_type: str) -> float:
        return self.vehicle_speeds_kmh.get(vehicle_type, self.vehicle_speeds_kmh.get("van", 90.0))

    def snaps(self, points: Sequence[Point], vehicle_types: Collection[str]) -> list[Snap]:
        """Every point's snap; raises `OffNetwork` naming those beyond the snap distance."""
        snaps = self.network.snap(points, vehicle_types or ("van",), self.max_snap_m)
        missing = [i for i, s in enumerate(snaps) if s is None]
        if missing:
            raise OffNetwork(missing)
        return [s for s in snaps if s is not None]

    def matrix(self, points: Sequence[Point], vehicle_types: Collection[str]) -> TravelMatrix:
        """Distances in whole metres and durations in whole seconds per vehicle type, the
        snap pieces included; `UNREACHABLE` where no road joins a pair."""
        types = sorted(set(vehicle_types)) or ["van"]
        snaps = self.snaps(points, types)
        offsets = np.array([s.offset_m for s in snaps])
        network = self.network
        big = 2 * network.num_edges >= self.hierarchy_from_arcs
        length = network.graph("distance", types).costs(snaps, hierarchy=big)
        distance = _whole(length + offsets[:, None] + offsets[None, :])
        durations: dict[str, IntMatrix] = {}
        for vtype in vehicle_types:
            cap = self.speed_kmh(vtype)
            graph = network.graph("time", [vtype], cap)
            speeds = np.minimum(network.speed_kmh[[s.edge for s in snaps]], cap) / 3.6
            approach = offsets / speeds
            costs = graph.costs(snaps, hierarchy=big)
            durations[vtype] = _whole(costs + approach[:, None] + approach[None, :])
        return TravelMatrix(distance=distance, durations=durations)

    def least_seconds(self, metres: float, vehicle_type: str) -> float:
        """No point `metres` away in a straight line is nearer than this by road: the line
        at the type's top speed on this network (less 1 %: great-circle against the plane
        the network is measured in)."""
        speed = min(self.network.top_speed_kmh, self.speed_kmh(vehicle_type)) / 3.6
        return 0.99 * metres / speed if speed > 0 else math.inf

    def travel_to(
        self, points: Sequence[Point], target: Point, vehicle_types: Collection[str]
    ) -> TravelTo:
        """Column `target` of `matrix([target, *points], vehicle_types)`, snapped alike, with
        one backward search per cost instead of a search from every point; with each type's
        `Reach` from the same search."""
        types = sorted(set(vehicle_types)) or ["van"]
        goal, *snaps = self.snaps([target, *points], types)
        network = self.network
        edges = np.array([s.edge for s in snaps], dtype=np.int64)
        fraction = np.array([s.fraction for s in snaps], dtype=float)
        offsets = np.array([s.offset_m for s in snaps], dtype=float)
        length = network.graph("distance", types).costs_on(edges, fraction, goal)
        distance = _whole_column(length + offsets + goal.offset_m)
        durations: dict[str, npt.NDArray[np.int64]] = {}
        bounds: dict[str, Reach] = {}
        searched: dict[int, FloatArray] = {}  # types of one cost share their search
        for vtype in vehicle_types:
            cap = self.speed_kmh(vtype)
            graph = network.graph("time", [vtype], cap)
            speeds = np.minimum(network.speed_kmh, cap) / 3.6
            arrive = goal.offset_m / (min(float(network.speed_kmh[goal.edge]), cap) / 3.6)
            costs = searched.get(id(graph))
            if costs is None:
                costs = searched[id(graph)] = graph.costs_on(edges, fraction, goal)
            durations[vtype] = _whole_column(costs + offsets / speeds[edges] + arrive)
            top = min(network.top_speed_kmh, cap) / 3.6
            bounds[vtype] = Reach(graph, goal, target, arrive, speeds, top)
        return TravelTo(distance, durations, bounds)

    def durations_to(
        self,
        points: Sequence[Point],
        target: Point,
        vehicle_type: str,
        snaps: Sequence[Snap] | None = None,
    ) -> npt.NDArray[np.int64]:
        """Whole seconds from each point to `target` for one vehicle type (`UNREACHABLE`
        where no road leads there): one search backwards from the target, so that ranking
        thousands of candidates (dispatch) costs one search, not a matrix. `snaps`: the
        points' snaps for this vehicle type (`snaps(points, [vehicle_type])`), when the
        caller keeps them, as for vehicles that have not moved."""
        (goal,) = self.snaps([target], [vehicle_type])
        if snaps is None:
            snaps = self.snaps(points, [vehicle_type])
        cap = self.speed_kmh(vehicle_type)
        graph = self.network.graph("time", [vehicle_type], cap)
        edges = np.array([s.edge for s in snaps], dtype=np.int64)
        speeds = np.minimum(self.network.speed_kmh[edges], cap) / 3.6
        approach = np.array([s.offset_m for s in snaps]) / speeds
        arrive = goal.offset_m / (min(float(self.network.speed_kmh[goal.edge]), cap) / 3.6)
        costs = graph.costs_to(snaps, goal) + approach + arrive
        whole = np.where(np.isfinite(costs), np.rint(np.minimum(costs, UNREACHABLE)), UNREACHABLE)
        return whole.astype(np.int64)

    def legs(self, points: Sequence[Point], vehicle_types: Collection[str]) -> list[list[Lnglat]]:
        """One line per pair of consecutive points, along the roads the distance matrix
        measures, from the first point's snap to the second's."""
        types = sorted(set(vehicle_types)) or ["van"]
        snaps = self.snaps(points, types)
        graph = self.network.graph("distance", types)
        return graph.paths(snaps, [(i, i + 1) for i in range(len(points) - 1)])


def _whole_column(costs: FloatArray) -> npt.NDArray[np.int64]:
    out = np.where(np.isfinite(costs), np.rint(np.minimum(costs, UNREACHABLE)), UNREACHABLE)
    return out.astype(np.int64)


def _whole(costs: FloatArray) -> IntMatrix:
    out = np.where(np.isfinite(costs), np.rint(np.minimum(costs, UNREACHABLE)), UNREACHABLE)
    np.fill_diagonal(out, 0)
    return out.astype(np.int64)
