"""A contraction hierarchy (Geisberger et al., 2008) for many-to-many road matrices.

Nodes are contracted one at a time, least important first (edge difference plus
contracted neighbours, updated lazily); contracting a node adds a shortcut between two of
its neighbours unless a witness search finds a path at least as short that avoids it. A
shortest path then climbs from its source to a top node and descends to its target, so a
matrix is one upward search per source and per target over a few thousand nodes, joined
in buckets (Knopp et al., 2007), instead of one search over the whole network per source.

The kernels are compiled with numba (cached on disk); the graph is the same directed
graph of arcs that `solvers.roads` builds, and the answers are the same distances.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit, prange

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
# Witness searches stop after settling this many nodes (a missed witness only costs an
# unneeded shortcut, never a wrong distance).
_WITNESS_SETTLED = 200


@njit(cache=True, nogil=True)
def _push(hd, hv, size, d, v):
    i = size
    while i > 0:
        p = (i - 1) // 2
        if hd[p] <= d:
            break
        hd[i] = hd[p]
        hv[i] = hv[p]
        i = p
    hd[i] = d
    hv[i] = v
    return size + 1


@njit(cache=True, nogil=True)
def _pop(hd, hv, size):
    d = hd[0]
    v = hv[0]
    size -= 1
    if size > 0:
        ld = hd[size]
        lv = hv[size]
        i = 0
        while True:
            c = 2 * i + 1
            if c >= size:
                break
            if c + 1 < size and hd[c + 1] < hd[c]:
                c += 1
            if hd[c] >= ld:
                break
            hd[i] = hd[c]
            hv[i] = hv[c]
            i = c
        hd[i] = ld
        hv[i] = lv
    return d, v, size


@njit(cache=True, nogil=True)
def _grow(a, size):
    if size < len(a):
        return a
    b = np.empty(max(16, 2 * len(a)), a.dtype)
    b[: len(a)] = a
    return b


@njit(cache=True, nogil=True)
def _witness(
    o_head,
    o_next,
    o_to,
    o_w,
    contracted,
    source,
    skip,
    limit,
    targets,
    mark,
    stamp,
    dist,
    touched,
    hd,
    hv,
):
    """Dijkstra from `source` avoiding `skip` and contracted nodes, until `limit`, every
    node marked `stamp` (`targets` of them) is settled, or enough nodes are; leaves
    distances in `dist` and returns how many entries of `touched` to reset."""
    nt = 0
    dist[source] = 0.0
    touched[nt] = source
    nt += 1
    size = _push(hd, hv, 0, 0.0, source)
    settled = 0
    while size > 0:
        d, u, size = _pop(hd, hv, size)
        if d > dist[u]:
            continue
        if d > limit or settled >= _WITNESS_SETTLED:
            break
        settled += 1
        if mark[u] == stamp:
            targets -= 1
            if targets == 0:
                break
        k = o_head[u]
        while k >= 0:
            x = o_to[k]
            if x != skip and not contracted[x]:
                nd = d + o_w[k]
                if nd < dist[x]:
                    if dist[x] == np.inf:
                        touched[nt] = x
                        nt += 1
                    dist[x] = nd
                    size = _push(hd, hv, size, nd, x)
            k = o_next[k]
    return nt


@njit(cache=True, nogil=True)
def _add_arc(head, nxt, to, w, count, a, b, weight):
    """Arc a->b in one direction's lists, or a lower weight for the one there."""
    k = head[a]
    while k >= 0:
        if to[k] == b:
            if weight < w[k]:
                w[k] = weight
            return count
        k = nxt[k]
    to[count] = b
    w[count] = weight
    nxt[count] = head[a]
    head[a] = count
    return count + 1


@njit(cache=True, nogil=True)
def _unlink(head, nxt, to, a, b):
    """Drop the arcs to b from a's list."""
    prev = -1
    k = head[a]
    while k >= 0:
        if to[k] == b:
            if prev < 0:
                head[a] = nxt[k]
            else:
                nxt[prev] = nxt[k]
        else:
            prev = k
        k = nxt[k]


@njit(cache=True, nogil=True)
def _shortcuts(v, g, scratch, found):
    """The shortcuts that contracting v needs, written to `found` (three arrays: from, to,
    weight): returns (how many, v's degree among the remaining nodes, `found`, grown if
    it had to be). `g` is the working graph's out and in lists, `scratch` the searches'."""
    o_head, o_next, o_to, o_w, i_head, i_next, i_to, i_w = g
    contracted, mark, stamp, dist, touched, hd, hv = scratch
    sc_u, sc_x, sc_w = found
    added = 0
    degree = 0
    k = o_head[v]
    while k >= 0:
        if not contracted[o_to[k]] and o_to[k] != v:
            degree += 1
        k = o_next[k]
    k = i_head[v]
    while k >= 0:
        u = i_to[k]
        if contracted[u] or u == v:
            k = i_next[k]
            continue
        degree += 1
        w1 = i_w[k]
        limit = 0.0
        targets = 0
        stamp[0] += 1
        j = o_head[v]
        while j >= 0:
            x = o_to[j]
            if not contracted[x] and x != v and x != u:
                if mark[x] != stamp[0]:
                    mark[x] = stamp[0]
                    targets += 1
                limit = max(limit, w1 + o_w[j])
            j = o_next[j]
        if targets > 0:
            nt = _witness(
                o_head, o_next, o_to, o_w, contracted, u, v, limit, targets, mark, stamp[0],
                dist, touched, hd, hv,
            )  # fmt: skip
            j = o_head[v]
            while j >= 0:
                x = o_to[j]
                via = w1 + o_w[j]
                if not contracted[x] and x != v and x != u and dist[x] > via:
                    if added >= len(sc_u):
                        sc_u = _grow(sc_u, added)
                        sc_x = _grow(sc_x, added)
                        sc_w = _grow(sc_w, added)
                    sc_u[added] = u
                    sc_x[added] = x
                    sc_w[added] = via
                    added += 1
                j = o_next[j]
            for t in range(nt):
                dist[touched[t]] = np.inf
        k = i_next[k]
    return added, degree, (sc_u, sc_x, sc_w)


@njit(cache=True, nogil=True)
def _keep(kept, count, a, b, weight):
    """Append the arc a->b to the hierarchy's arcs `kept` (three arrays, grown as needed)."""
    tails, heads, weights = kept
    if count + 1 >= len(tails):
        tails = _grow(tails, count + 1)
        heads = _grow(heads, count + 1)
        weights = _grow(weights, count + 1)
    tails[count] = a
    heads[count] = b
    weights[count] = weight
    return (tails, heads, weights), count + 1


@njit(cache=True, nogil=True)
def _queue(qd, qv, qsize, priority, v):
    if qsize + 1 >= len(qd):
        qd = _grow(qd, qsize + 1)
        qv = _grow(qv, qsize + 1)
    return qd, qv, _push(qd, qv, qsize, priority, v)


@njit(cache=True, nogil=True)
def _build(n, tail, head, weight, capacity):
    """Contract every node; returns (rank, arc tails, heads, weights) of the hierarchy's
    arcs (original and shortcuts), or an empty rank when `capacity` arcs did not suffice."""
    o_head = np.full(n, -1, np.int64)
    i_head = np.full(n, -1, np.int64)
    o_next = np.empty(capacity, np.int64)
    i_next = np.empty(capacity, np.int64)
    o_to = np.empty(capacity, np.int64)
    i_to = np.empty(capacity, np.int64)
    o_w = np.empty(capacity)
    i_w = np.empty(capacity)
    g = (o_head, o_next, o_to, o_w, i_head, i_next, i_to, i_w)
    no = 0
    ni = 0
    for e in range(len(tail)):
        no = _add_arc(o_head, o_next, o_to, o_w, no, tail[e], head[e], weight[e])
        ni = _add_arc(i_head, i_next, i_to, i_w, ni, head[e], tail[e], weight[e])
    contracted = np.zeros(n, np.bool_)
    deleted = np.zeros(n, np.int64)
    scratch = (
        contracted,
        np.zeros(n, np.int64),  # marks of a witness search's targets
        np.zeros(1, np.int64),  # the current mark
        np.full(n, np.inf),
        np.empty(n, np.int64),
        np.empty(capacity + 1),
        np.empty(capacity + 1, np.int64),
    )
    found = (np.empty(64, np.int64), np.empty(64, np.int64), np.empty(64))
    priority = np.empty(n)
    qd = np.empty(2 * n + 16)
    qv = np.empty(2 * n + 16, np.int64)
    qsize = 0
    for v in range(n):
        s, deg, found = _shortcuts(v, g, scratch, found)
        priority[v] = s - deg
        qd, qv, qsize = _queue(qd, qv, qsize, priority[v], v)
    rank = np.empty(n, np.int64)
    level = 0
    kept = (
        np.empty(len(tail) + 16, np.int64),
        np.empty(len(tail) + 16, np.int64),
        np.empty(len(tail) + 16),
    )
    nk = 0
    while qsize > 0:
        p, v, qsize = _pop(qd, qv, qsize)
        if contracted[v] or p != priority[v]:
            continue
        s, deg, found = _shortcuts(v, g, scratch, found)
        fresh = s - deg + deleted[v]
        if qsize > 0 and fresh > qd[0]:
            # Lazy update: no longer the least important; back in the queue.
            priority[v] = fresh
            qd, qv, qsize = _queue(qd, qv, qsize, fresh, v)
            continue
        if no + s >= capacity or ni + s >= capacity:
            return np.empty(0, np.int64), tail, head, weight
        sc_u, sc_x, sc_w = found
        for i in range(s):
            no = _add_arc(o_head, o_next, o_to, o_w, no, sc_u[i], sc_x[i], sc_w[i])
            ni = _add_arc(i_head, i_next, i_to, i_w, ni, sc_x[i], sc_u[i], sc_w[i])
        contracted[v] = True
        rank[v] = level
        level += 1
        # v's arcs to the nodes still there are the hierarchy's arcs with v as lower end;
        # they leave the working graph, so that later searches do not walk past them.
        k = o_head[v]
        while k >= 0:
            x = o_to[k]
            if x != v:
                kept, nk = _keep(kept, nk, v, x, o_w[k])
                deleted[x] += 1
                _unlink(i_head, i_next, i_to, x, v)
            k = o_next[k]
        k = i_head[v]
        while k >= 0:
            u = i_to[k]
            if u != v:
                kept, nk = _keep(kept, nk, u, v, i_w[k])
                deleted[u] += 1
                _unlink(o_head, o_next, o_to, u, v)
            k = i_next[k]
    return rank, kept[0][:nk].copy(), kept[1][:nk].copy(), kept[2][:nk].copy()


@njit(cache=True, nogil=True)
def _upward(ptr, to, w, stall_ptr, stall_to, stall_w, starts, costs, dist, touched, hd, hv):
    """Search upward from several start nodes with initial costs; returns how many nodes
    it settled unstalled, listed first in `touched` with final distances in `dist`."""
    nt = 0
    size = 0
    for i in range(len(starts)):
        s = starts[i]
        if costs[i] < dist[s]:
            if dist[s] == np.inf:
                touched[nt] = s
                nt += 1
            dist[s] = costs[i]
            size = _push(hd, hv, size, costs[i], s)
    settled = np.empty(nt + len(ptr), np.int64)
    ns = 0
    while size > 0:
        d, u, size = _pop(hd, hv, size)
        if d > dist[u]:
            continue
        stalled = False
        for k in range(stall_ptr[u], stall_ptr[u + 1]):
            if dist[stall_to[k]] + stall_w[k] < d:
                stalled = True
                break
        if stalled:
            continue
        settled[ns] = u
        ns += 1
        for k in range(ptr[u], ptr[u + 1]):
            x = to[k]
            nd = d + w[k]
            if nd < dist[x]:
                if dist[x] == np.inf:
                    touched[nt] = x
                    nt += 1
                dist[x] = nd
                size = _push(hd, hv, size, nd, x)
    # Settled nodes first (their distances are what the caller reads), then the rest.
    for i in range(ns):
        touched[nt + i] = settled[i]
    return nt, ns


@njit(cache=True, parallel=True)
def _many_to_many(
    n,
    up_ptr,
    up_to,
    up_w,
    down_ptr,
    down_to,
    down_w,
    src_ptr,
    src_node,
    src_cost,
    dst_ptr,
    dst_node,
    dst_cost,
):
    sources = len(src_ptr) - 1
    targets = len(dst_ptr) - 1
    # Backward searches (over arcs coming down into a node, reversed), one bucket entry
    # per settled node.
    b_node = np.empty(1024, np.int64)
    b_target = np.empty(1024, np.int64)
    b_dist = np.empty(1024)
    nb = 0
    dist = np.full(n, np.inf)
    touched = np.empty(2 * n + 1, np.int64)
    hd = np.empty(len(down_to) + len(dst_node) + 1)
    hv = np.empty(len(down_to) + len(dst_node) + 1, np.int64)
    for t in range(targets):
        lo, hi = dst_ptr[t], dst_ptr[t + 1]
        nt, ns = _upward(
            down_ptr,
            down_to,
            down_w,
            up_ptr,
            up_to,
            up_w,
            dst_node[lo:hi],
            dst_cost[lo:hi],
            dist,
            touched,
            hd,
            hv,
        )
        for i in range(ns):
            u = touched[nt + i]
            if nb + 1 >= len(b_node):
                b_node = _grow(b_node, nb + 1)
                b_target = _grow(b_target, nb + 1)
                b_dist = _grow(b_dist, nb + 1)
            b_node[nb] = u
            b_target[nb] = t
            b_dist[nb] = dist[u]
            nb += 1
        for i in range(nt):
            dist[touched[i]] = np.inf
    order = np.argsort(b_node[:nb], kind="mergesort")
    bucket_ptr = np.zeros(n + 1, np.int64)
    for i in range(nb):
        bucket_ptr[b_node[i] + 1] += 1
    for u in range(n):
        bucket_ptr[u + 1] += bucket_ptr[u]
    bucket_target = b_target[:nb][order]
    bucket_dist = b_dist[:nb][order]
    out = np.full((sources, targets), np.inf)
    for s in prange(sources):
        fdist = np.full(n, np.inf)
        ftouched = np.empty(2 * n + 1, np.int64)
        fhd = np.empty(len(up_to) + len(src_node) + 1)
        fhv = np.empty(len(up_to) + len(src_node) + 1, np.int64)
        lo, hi = src_ptr[s], src_ptr[s + 1]
        nt, ns = _upward(
            up_ptr,
            up_to,
            up_w,
            down_ptr,
            down_to,
            down_w,
            src_node[lo:hi],
            src_cost[lo:hi],
            fdist,
            ftouched,
            fhd,
            fhv,
        )
        for i in range(ns):
            u = ftouched[nt + i]
            d = fdist[u]
            for k in range(bucket_ptr[u], bucket_ptr[u + 1]):
                c = d + bucket_dist[k]
                t = bucket_target[k]
                if c < out[s, t]:
                    out[s, t] = c
    return out


def _csr(
    n: int, tail: IntArray, head: IntArray, weight: FloatArray
) -> tuple[IntArray, IntArray, FloatArray]:
    order = np.lexsort((head, tail))
    ptr = np.zeros(n + 1, np.int64)
    np.add.at(ptr, tail + 1, 1)
    return np.cumsum(ptr), head[order].astype(np.int64), weight[order].astype(float)


@dataclass(frozen=True, eq=False)
class Hierarchy:
    """Upward arcs (to a higher-ranked node) and downward arcs stored at their lower end,
    reversed, as two CSR graphs."""

    num_nodes: int
    up: tuple[IntArray, IntArray, FloatArray]
    down: tuple[IntArray, IntArray, FloatArray]
    shortcuts: int

    @classmethod
    def build(cls, n: int, tail: IntArray, head: IntArray, weight: FloatArray) -> Hierarchy:
        """Contract the directed graph of arcs tail -> head."""
        capacity = max(64, 4 * len(tail))
        while True:
            rank, a, b, w = _build(
                n, tail.astype(np.int64), head.astype(np.int64), weight.astype(float), capacity
            )
            if len(rank) == n:
                break
            capacity *= 2
        upward = rank[b] > rank[a]
        return cls(
            n,
            _csr(n, a[upward], b[upward], w[upward]),
            _csr(n, b[~upward], a[~upward], w[~upward]),
            int(len(a) - len(tail)),
        )

    def many_to_many(
        self,
        sources: list[list[tuple[int, float]]],
        targets: list[list[tuple[int, float]]],
    ) -> FloatArray:
        """Costs from each source to each target; each is a list of (node, cost to leave
        from or arrive at it). inf where no path."""

        def flat(ends: list[list[tuple[int, float]]]) -> tuple[IntArray, IntArray, FloatArray]:
            ptr = np.cumsum([0, *(len(e) for e in ends)]).astype(np.int64)
            nodes = np.array([v for e in ends for v, _ in e], dtype=np.int64)
            costs = np.array([c for e in ends for _, c in e], dtype=float)
            return ptr, nodes, costs

        result: FloatArray = _many_to_many(
            self.num_nodes, *self.up, *self.down, *flat(sources), *flat(targets)
        )
        return result
