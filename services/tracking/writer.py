"""Batched, durable position writes (group commit).

Callers hand positions over and wait; a single flusher gathers everything that arrives
within a few milliseconds, writes it with one multi-row insert per workspace, commits, and
only then releases the callers. So ingestion is not one transaction per point, and a
position is acknowledged only once it is stored; stopping the writer flushes what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text

from core.db import Database

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
    RETURNING vehicle_id, recorded_at
    """
)
# Vehicle rows are locked in id order first: two API processes flushing overlapping
# vehicles would otherwise update them in different orders and deadlock.
LOCK_VEHICLES = text(
    "SELECT 1 FROM vehicles WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR NO KEY UPDATE"
)
# The newest position of each vehicle moves it, never an older one arriving late.
MOVE = text(
    """
    UPDATE vehicles AS v
    SET last_location = ST_SetSRID(ST_MakePoint(x.lng, x.lat), 4326)::geography,
        last_location_at = x.t
    FROM (
        SELECT DISTINCT ON (v) v, t, lng, lat
        FROM unnest(CAST(:vehicles AS uuid[]), CAST(:times AS timestamptz[]),
                    CAST(:lngs AS float8[]), CAST(:lats AS float8[])) AS x(v, t, lng, lat)
        ORDER BY v, t DESC
    ) AS x
    WHERE v.id = x.v AND (v.last_location_at IS NULL OR v.last_location_at < x.t)
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
    """What one flush did for a workspace: which positions were new, which moved their
    vehicle's latest position."""

    workspace_id: UUID
    positions: list[Position]
    inserted: set[tuple[UUID, datetime]]
    moved: dict[UUID, datetime]


AfterFlush = Callable[[Stored], Coroutine[Any, Any, None]]


@dataclass(eq=False)
class _Pending:
    workspace_id: UUID
    positions: list[Position]
    done: asyncio.Future[Stored]


class PositionWriter:
    def __init__(
        self,
        db: Database,
        *,
        after_flush: AfterFlush | None = None,
        max_delay_s: float = 0.01,
        max_batch: int = 5000,
        max_pending_followups: int = 8,
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
        self._followups: set[asyncio.Task[None]] = set()
        # Backpressure: when the feed lags this many flushes behind, flushing waits for it
        # instead of piling up work (and memory).
        self._followup_slots = asyncio.Semaphore(max_pending_followups)
        self._closing = False

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Flush everything handed over so far, then stop."""
        self._closing = True
        self._wake.set()
        self._full.set()
        if self._task is not None:
            await self._task
        if self._followups:
            await asyncio.gather(*self._followups, return_exceptions=True)

    async def write(self, workspace_id: UUID, positions: list[Position]) -> Stored:
        """Store `positions` and return once they are committed."""
        if self._closing or self._task is None:
            raise RuntimeError("the position writer is not running")
        done: asyncio.Future[Stored] = asyncio.get_running_loop().create_future()
        self._pending.append(_Pending(workspace_id, positions, done))
        self._size += len(positions)
        self._wake.set()
        if self._size >= self._max_batch:
            self._full.set()
        return await done

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._max_delay_s)
            batch, self._pending, self._size = self._pending, [], 0
            self._wake.clear()
            self._full.clear()
            if batch:
                await self._flush(batch)
            if self._closing and not self._pending:
                return

    async def _flush(self, batch: list[_Pending]) -> None:
        by_workspace: dict[UUID, list[_Pending]] = defaultdict(list)
        for item in batch:
            by_workspace[item.workspace_id].append(item)
        for workspace_id, items in by_workspace.items():
            positions = [p for item in items for p in item.positions]
            try:
                stored = await self._store(workspace_id, positions)
            except Exception as exc:
                log.exception("storing positions failed")
                for item in items:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            for item in items:
                if not item.done.done():
                    item.done.set_result(stored)
            if self._after_flush is not None:
                await self._followup_slots.acquire()
                task = asyncio.create_task(self._after_flush(stored))
                self._followups.add(task)
                task.add_done_callback(self._followups.discard)
                task.add_done_callback(lambda _: self._followup_slots.release())

    async def _store(self, workspace_id: UUID, positions: list[Position]) -> Stored:
        columns = {
            "vehicles": [p.vehicle_id for p in positions],
            "times": [p.recorded_at for p in positions],
            "lngs": [p.lng for p in positions],
            "lats": [p.lat for p in positions],
        }
        async with self._db.session(workspace_id) as session:
            inserted = await session.execute(
                INSERT,
                {
                    **columns,
                    "workspace_id": workspace_id,
                    "speeds": [p.speed_kmh for p in positions],
                    "headings": [p.heading for p in positions],
                    "accuracies": [p.accuracy_m for p in positions],
                    "batteries": [p.battery_pct for p in positions],
                },
            )
            new = {(row[0], row[1]) for row in inserted}
            await session.execute(LOCK_VEHICLES, {"ids": sorted({p.vehicle_id for p in positions})})
            moved = await session.execute(MOVE, columns)
            latest = {row[0]: row[1] for row in moved}
        return Stored(workspace_id, positions, new, latest)
