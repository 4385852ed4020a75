"""The contraction hierarchy gives the distances a plain Dijkstra gives."""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_array
from scipy.sparse.csgraph import dijkstra

from solvers.hierarchy import Hierarchy


def _city(side: int, seed: int) -> tuple[int, np.ndarray, np.ndarray, np.ndarray]:
    """A grid of streets, a tenth of them one-way and a twentieth missing."""
    rng = np.random.default_rng(seed)
    ids = np.arange(side * side).reshape(side, side)
    pairs = np.vstack(
        [
            np.stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()], 1),
            np.stack([ids[:-1, :].ravel(), ids[1:, :].ravel()], 1),
        ]
    )
    pairs = pairs[rng.random(len(pairs)) > 0.05]
    length = rng.uniform(50, 150, len(pairs))
    two_way = rng.random(len(pairs)) > 0.1
    tail = np.concatenate([pairs[:, 0], pairs[two_way, 1]])
    head = np.concatenate([pairs[:, 1], pairs[two_way, 0]])
    return side * side, tail, head, np.concatenate([length, length[two_way]])


def test_many_to_many_equals_dijkstra_on_a_one_way_grid() -> None:
    n, tail, head, weight = _city(30, seed=3)
    hierarchy = Hierarchy.build(n, tail, head, weight)
    rng = np.random.default_rng(4)
    nodes = rng.choice(n, 40, replace=False)
    got = hierarchy.many_to_many([[(int(v), 0.0)] for v in nodes], [[(int(v), 0.0)] for v in nodes])
    graph = csr_array((weight, (tail, head)), shape=(n, n))
    expected = dijkstra(graph, indices=nodes)[:, nodes]
    assert np.array_equal(np.isinf(got), np.isinf(expected))
    finite = np.isfinite(expected)
    assert np.allclose(got[finite], expected[finite], rtol=0, atol=1e-6)


def test_a_point_between_two_nodes_leaves_and_arrives_by_either_end() -> None:
    n, tail, head, weight = _city(12, seed=5)
    hierarchy = Hierarchy.build(n, tail, head, weight)
    graph = csr_array((weight, (tail, head)), shape=(n, n))
    full = dijkstra(graph)
    starts = [(3, 10.0), (4, 25.0)]
    ends = [(100, 5.0), (101, 40.0)]
    got = hierarchy.many_to_many([starts], [ends])[0, 0]
    expected = min(a + full[u, v] + b for u, a in starts for v, b in ends)
    assert abs(got - expected) < 1e-6
