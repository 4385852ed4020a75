"""Batched, durable position writes (group commit).

Callers hand positions over and wait; a flusher gathers everything that arrives within a
few milliseconds and, in one transaction per workspace, checks who may report for which
vehicle, writes the positions with one multi-row insert, moves the vehicles (each free vehicle's new
position with its snap to the active road network, for dispatch by road time), commits, and
only then releases the callers. So ingestion is not one transaction per point (nor per
request), and a position is acknowledged only once it is stored; stopping the writer
flushes what is left.

While a flush runs, what arrives waits for it to end, unless `parallel_from` positions
are waiting (batches from phones that were offline, telematics feeds): then up to
`max_in_flight` flushes run at once, each on its own connection, so that PostgreSQL inserts
one batch while this process prepares the next. Single reports keep the one-flush-at-a-time
rhythm, which gathers more of them per commit. Flushes lock the vehicles they move
only at the end, in id order, right before the update and the commit: the inserts of
concurrent flushes (and of other API processes) overlap, and their moves queue briefly. A
vehicle deleted between a flush's check and its move keeps the positions it sent until
then, and does not move.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text

from core.db import Database
from services.roads.position_snaps import snaps_for

log = logging.getLogger(__name__)

INSERT = text(
    """
    INSERT INTO live_vehicle_positions
        (vehicle_id, recorded_at, workspace_id, position, speed_kmh, heading, accuracy_m,
         battery_pct)
    SELECT v, t, :workspace_id, ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography, s, h, a, b
    FROM unnest(CAST(:vehicles AS uuid[]), CAST(:times AS timestamptz[]),
                CAST(:lngs AS float8[]), CAST(:lats AS float8[]), CAST(:speeds AS float8[]),
                CAST(:headings AS float8[]), CAST(:accuracies AS float8[]),
                CAST(:batteries AS float8[]))
         AS x(v, t, lng, lat, s, h, a, b)
    ON CONFLICT (vehicle_id, recorded_at) DO NOTHING
    """
)
# Asked only when the insert stored fewer rows than it was given: which of the keys were
# there before this transaction (a repeated report), told by the row's creating transaction.
STORED_BEFORE = text(
    """
    SELECT p.vehicle_id, p.recorded_at
    FROM unnest(CAST(:vehicles AS uuid[]), CAST(:times AS timestamptz[])) AS x(v, t)
    JOIN live_vehicle_positions p ON p.vehicle_id = x.v AND p.recorded_at = x.t
    WHERE p.xmin <> pg_current_xact_id()::xid
    """
)
# The live vehicles among those reported, with their types and whether they are free.
LIVE_VEHICLES = text(
    "SELECT id, vehicle_type, status = 'available' FROM vehicles"
    " WHERE id = ANY(CAST(:ids AS uuid[])) AND deleted_at IS NULL"
)
# Taken right before MOVE, in id order: two flushes moving overlapping vehicles would
# otherwise update them in different orders and deadlock.
LOCK_VEHICLES = text(
    "SELECT id FROM vehicles WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR NO KEY UPDATE"
)
# The vehicle each reporting driver is assigned to.
ASSIGNMENTS = text(
    "SELECT user_id, vehicle_id FROM drivers"
    " WHERE user_id = ANY(CAST(:users AS uuid[])) AND vehicle_id IS NOT NULL"
)
# Each vehicle's newest position of the flush moves it, never one older than it already has,
# with the position's snap to the road network (services.roads.position_snaps).
MOVE = text(
    """
    UPDATE vehicles AS v
    SET last_location = ST_SetSRID(ST_MakePoint(x.lng, x.lat), 4326)::geography,
        last_location_at = x.t,
        snap_version = x.version, snap_mask = x.mask, snap_edge = x.edge,
        snap_fraction = x.fraction, snap_offset_m = x.offset_m,
        snap_lng = CASE WHEN x.edge IS NULL THEN NULL ELSE x.lng END,
        snap_lat = CASE WHEN x.edge IS NULL THEN NULL ELSE x.lat END
    FROM unnest(CAST(:vehicles AS uuid[]), CAST(:times AS timestamptz[]),
                CAST(:lngs AS float8[]), CAST(:lats AS float8[]),
                CAST(:snap_versions AS int[]), CAST(:snap_masks AS int[]),
                CAST(:snap_edges AS int[]), CAST(:snap_fractions AS float8[]),
                CAST(:snap_offsets AS float8[]))
         AS x(v, t, lng, lat, version, mask, edge, fraction, offset_m)
    WHERE v.id = x.v AND v.deleted_at IS NULL
      AND (v.last_location_at IS NULL OR v.last_location_at < x.t)
    RETURNING v.id, x.t
    """
)


@dataclass(frozen=True, slots=True)
class Position:
    vehicle_id: UUID
    recorded_at: datetime
    lng: float
    lat: float
    speed_kmh: float | None = None
    heading: float | None = None
    accuracy_m: float | None = None
    battery_pct: float | None = None


@dataclass(frozen=True, slots=True)
class Stored:
    """What one flush did for a workspace: the positions it accepted, which of them were
    already stored (usually none), which moved their vehicle's latest position."""

    workspace_id: UUID
    positions: list[Position]
    duplicates: set[tuple[UUID, datetime]]
    moved: dict[UUID, datetime]

    def is_new(self, p: Position) -> bool:
        return not self.duplicates or (p.vehicle_id, p.recorded_at) not in self.duplicates


@dataclass(frozen=True, slots=True)
class Written:
    """The answer to one `write`: the flush it was part of, and which of the caller's
    positions (by index) were refused: not a live vehicle of the workspace, or, for a
    driver, not the vehicle assigned to them."""

    stored: Stored
    refused: set[int] = field(default_factory=set)

    def is_new(self, p: Position) -> bool:
        return self.stored.is_new(p)


AfterFlush = Callable[[Stored], Coroutine[Any, Any, None]]


@dataclass(eq=False)
class _Pending:
    workspace_id: UUID
    positions: list[Position]
    reporter: UUID | None
    done: asyncio.Future[Written]
    refused: set[int] = field(default_factory=set)


class PositionWriter:
    def __init__(
        self,
        db: Database,
        *,
        after_flush: AfterFlush | None = None,
        max_delay_s: float = 0.01,
        max_batch: int = 5000,
        max_in_flight: int = 2,
        parallel_from: int = 250,
        max_feed_backlog: int = 50_000,
    ) -> None:
        self._db = db
        self._after_flush = after_flush
        self._max_delay_s = max_delay_s
        self._max_batch = max_batch
        self._pending: list[_Pending] = []
        self._size = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._slots = asyncio.Semaphore(max_in_flight)
        self._flushes: set[asyncio.Task[None]] = set()
        self._parallel_from = parallel_from
        self._enough = asyncio.Event()
        # Flushes waiting for `after_flush`. One consumer takes all that piled up at once,
        # merged per workspace, so the feed keeps pace however often flushes come; past
        # `max_feed_backlog` positions, flushing waits for it (bounded memory).
        self._flushed: list[Stored] = []
        self._flushed_size = 0
        self._max_feed_backlog = max_feed_backlog
        self._feed_wake = asyncio.Event()
        self._feed_room = asyncio.Event()
        self._feed_task: asyncio.Task[None] | None = None
        self._feed_closing = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        if self._after_flush is not None:
            self._feed_task = asyncio.create_task(self._feed(self._after_flush))

    async def stop(self) -> None:
        """Flush everything handed over so far, let the feed follow it, then stop."""
        self._closing = True
        self._wake.set()
        self._full.set()
        if self._task is not None:
            await self._task
        self._feed_closing = True
        self._feed_wake.set()
        if self._feed_task is not None:
            await self._feed_task

    async def write(
        self, workspace_id: UUID, positions: list[Position], *, reporter: UUID | None = None
    ) -> Written:
        """Store `positions` of live vehicles of the workspace and return once they are
        committed. With `reporter` (a driver's user id) only positions of the vehicle
        assigned to that driver are accepted; the others are refused, by index."""
        if self._closing or self._task is None:
            raise RuntimeError("the position writer is not running")
        done: asyncio.Future[Written] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(workspace_id, positions, reporter, done))
        self._size += len(positions)
        self._wake.set()
        if self._size >= self._parallel_from:
            self._enough.set()
        if self._size >= self._max_batch:
            self._full.set()
        return await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing:
                if not self._flushes:
                    # Idle: gather for a moment.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._full.wait(), self._max_delay_s)
                elif not self._enough.is_set():
                    # What arrives during a flush has waited long enough: it goes when that
                    # flush ends, or alongside it once there is a batch's worth.
                    enough = asyncio.create_task(self._enough.wait())
                    await asyncio.wait(
                        {enough, *self._flushes}, return_when=asyncio.FIRST_COMPLETED
                    )
                    enough.cancel()
            await self._slots.acquire()
            batch, self._pending, self._size = self._pending, [], 0
            self._wake.clear()
            self._full.clear()
            self._enough.clear()
            if batch:
                flush = asyncio.create_task(self._flush(batch))
                self._flushes.add(flush)
                flush.add_done_callback(self._flushes.discard)
            else:
                self._slots.release()
            if self._closing and not self._pending:
                if self._flushes:
                    await asyncio.wait(set(self._flushes))
                return

    async def _flush(self, batch: list[_Pending]) -> None:
        by_workspace: dict[UUID, list[_Pending]] = defaultdict(list)
        for item in batch:
            by_workspace[item.workspace_id].append(item)
        try:
            for workspace_id, items in by_workspace.items():
                try:
                    stored = await self._store(workspace_id, items)
                except Exception as exc:
                    log.exception("storing positions failed")
                    for item in items:
                        if not item.done.done():
                            item.done.set_exception(exc)
                    continue
                for item in items:
                    if not item.done.done():
                        item.done.set_result(Written(stored, item.refused))
                if self._feed_task is not None and stored.positions:
                    # Handed over as soon as committed: the feed sees flushes in commit order.
                    self._hand_to_feed(stored)
            # Bounded memory: no new flush while the feed is this far behind.
            while self._flushed_size >= self._max_feed_backlog:
                self._feed_room.clear()
                await self._feed_room.wait()
        finally:
            self._slots.release()

    def _hand_to_feed(self, stored: Stored) -> None:
        self._flushed.append(stored)
        self._flushed_size += len(stored.positions)
        self._feed_wake.set()

    async def _feed(self, after_flush: AfterFlush) -> None:
        while True:
            await self._feed_wake.wait()
            self._feed_wake.clear()
            flushed, self._flushed, self._flushed_size = self._flushed, [], 0
            self._feed_room.set()
            for stored in _merged(flushed):
                try:
                    await after_flush(stored)
                except Exception:
                    log.exception("the live feed failed for a flush")
            if self._feed_closing and not self._flushed:
                return

    async def _store(self, workspace_id: UUID, items: list[_Pending]) -> Stored:
        async with self._db.session(workspace_id, generic_plans=True) as session:
            reported = sorted({p.vehicle_id for item in items for p in item.positions})
            rows = await session.execute(LIVE_VEHICLES, {"ids": reported})
            types: dict[UUID, str] = {}
            free: set[UUID] = set()
            for vehicle_id, vehicle_type, available in rows:
                types[vehicle_id] = vehicle_type
                if available:
                    free.add(vehicle_id)
            live = set(types)
            reporters = sorted({item.reporter for item in items if item.reporter is not None})
            assigned: dict[UUID, UUID] = {}
            if reporters:
                rows = await session.execute(ASSIGNMENTS, {"users": reporters})
                assigned = {row[0]: row[1] for row in rows}
            positions = [p for item in items for p in _admit(item, live, assigned)]
            if not positions:
                return Stored(workspace_id, [], set(), {})
            keys = {
                "vehicles": [p.vehicle_id for p in positions],
                "times": [p.recorded_at for p in positions],
            }
            inserted = await session.execute(
                INSERT,
                {
                    **keys,
                    "workspace_id": workspace_id,
                    "lngs": [p.lng for p in positions],
                    "lats": [p.lat for p in positions],
                    "speeds": [p.speed_kmh for p in positions],
                    "headings": [p.heading for p in positions],
                    "accuracies": [p.accuracy_m for p in positions],
                    "batteries": [p.battery_pct for p in positions],
                },
            )
            duplicates: set[tuple[UUID, datetime]] = set()
            if inserted.rowcount < len(positions):  # type: ignore[attr-defined]
                rows = await session.execute(STORED_BEFORE, keys)
                duplicates = {(row[0], row[1]) for row in rows}
            newest = _newest(positions)
            lngs = [p.lng for p in newest.values()]
            lats = [p.lat for p in newest.values()]
            # Only free vehicles are dispatched: a busy one's snap is made once it is free.
            snaps = await snaps_for(
                session,
                workspace_id,
                lngs,
                lats,
                {types[v] for v in newest},
                [v in free for v in newest],
            )
            await session.execute(LOCK_VEHICLES, {"ids": sorted(newest)})
            moved = await session.execute(
                MOVE,
                {
                    "vehicles": list(newest),
                    "times": [p.recorded_at for p in newest.values()],
                    "lngs": lngs,
                    "lats": lats,
                    **snaps.params(),
                },
            )
            latest = {row[0]: row[1] for row in moved}
        return Stored(workspace_id, positions, duplicates, latest)


def _newest(positions: list[Position]) -> dict[UUID, Position]:
    """Each vehicle's newest position: only those are sent to move the vehicles."""
    newest: dict[UUID, Position] = {}
    for p in positions:
        held = newest.get(p.vehicle_id)
        if held is None or p.recorded_at > held.recorded_at:
            newest[p.vehicle_id] = p
    return newest


def _merged(flushed: list[Stored]) -> list[Stored]:
    """One Stored per workspace for several flushes, in commit order; of two moves of a
    vehicle the newer one stands (moves only go forward: this only guards that)."""
    merged: dict[UUID, Stored] = {}
    for stored in flushed:
        into = merged.get(stored.workspace_id)
        if into is None:
            merged[stored.workspace_id] = Stored(
                stored.workspace_id,
                list(stored.positions),
                set(stored.duplicates),
                dict(stored.moved),
            )
        else:
            into.positions.extend(stored.positions)
            into.duplicates.update(stored.duplicates)
            for vehicle_id, at in stored.moved.items():
                if vehicle_id not in into.moved or at > into.moved[vehicle_id]:
                    into.moved[vehicle_id] = at
    return list(merged.values())


def _admit(item: _Pending, live: set[UUID], assigned: dict[UUID, UUID]) -> list[Position]:
    """The item's positions it may store; the others are noted in `item.refused`."""
    admitted = []
    own = assigned.get(item.reporter) if item.reporter is not None else None
    for index, p in enumerate(item.positions):
        if p.vehicle_id in live and (item.reporter is None or p.vehicle_id == own):
            admitted.append(p)
        else:
            item.refused.add(index)
    return admitted
