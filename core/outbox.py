"""The outbox relay: publishes committed events to their streams, oldest first.

Each relay holds a connection of its own as the application role, and publishes only while
it holds the relay's session advisory lock: any number may run (every API process, the
events process), one publishes, and another takes over within `lock_retry_s` of its death
(PostgreSQL releases the lock with the connection). A batch is published, then deleted from
the outbox: a relay that dies between the two leaves the batch for the next, which publishes
it again. Delivery is at least once; consumers de-duplicate by `event_id`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from core.events import EventBus
from core.faults import fault_point
from core.settings import Settings

log = logging.getLogger(__name__)

RELAY_LOCK = (0x0E7B, 0)  # (class, key) of the session advisory lock only the active relay holds

OUTBOX_LAG = Gauge(
    "omniroute_outbox_lag_seconds",
    "Age of the oldest committed event not yet on its stream (0 when none is waiting).",
)
OUTBOX_BACKLOG = Gauge(
    "omniroute_outbox_backlog", "Committed events waiting for the relay (capped at 1,000,000)."
)
RELAYED = Counter("omniroute_outbox_relayed_total", "Events published by this process's relay.")


BACKLOG_QUERY = (
    "SELECT pending, extract(epoch FROM clock_timestamp() - oldest)::float8 AS age"
    " FROM event_outbox_backlog()"
)


@dataclass(frozen=True, slots=True)
class RelaySettings:
    batch_size: int = 1000
    poll_s: float = 0.05
    lock_retry_s: float = 1.0
    reconnect_s: float = 1.0

    @classmethod
    def of(cls, settings: Settings) -> RelaySettings:
        return cls(batch_size=settings.outbox_batch_size, poll_s=settings.outbox_poll_ms / 1000)


def record_backlog(row: Mapping[str, Any] | None) -> tuple[int, float]:
    """Set the gauges from a row of BACKLOG_QUERY: (events waiting, age of the oldest)."""
    pending = int(row["pending"]) if row else 0
    age = max(0.0, float(row["age"])) if row and row["age"] is not None else 0.0
    OUTBOX_BACKLOG.set(pending)
    OUTBOX_LAG.set(age)
    return pending, age


class OutboxRelay:
    def __init__(self, dsn: str, bus: EventBus, settings: RelaySettings | None = None) -> None:
        self._dsn = dsn
        self._bus = bus
        self._settings = settings or RelaySettings()
        self._wake = asyncio.Event()
        self._stopping = False
        self.is_active = False

    def stop(self) -> None:
        """End `run` at its next step (a cancellation can be swallowed by the driver)."""
        self._stopping = True
        self._wake.set()

    def wake(self) -> None:
        """Something was committed: look now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Relay until cancelled, reconnecting after database errors."""
        while not self._stopping:
            try:
                conn = await asyncpg.connect(self._dsn)
            except (OSError, asyncpg.PostgresError) as exc:
                if self._stopping:
                    return
                log.warning("outbox relay cannot connect", extra={"error": repr(exc)})
                await asyncio.sleep(self._settings.reconnect_s)
                continue
            try:
                await self._lead(conn)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox relay lost its connection", extra={"error": repr(exc)})
            except Exception:
                log.exception("outbox relay failed; restarting")
            finally:
                self.is_active = False
                with contextlib.suppress(Exception):
                    await asyncio.shield(conn.close(timeout=2))
            if not self._stopping:
                await asyncio.sleep(self._settings.reconnect_s)

    async def _lead(self, conn: asyncpg.Connection) -> None:
        while not await conn.fetchval("SELECT pg_try_advisory_lock($1, $2)", *RELAY_LOCK):
            if self._stopping:
                return
            await asyncio.sleep(self._settings.lock_retry_s)
        self.is_active = True
        log.info("outbox relay active")
        last_measure = 0.0
        while not self._stopping:
            published = await self.relay_once(conn)
            now = time.monotonic()
            if now - last_measure >= 1.0:
                record_backlog(await conn.fetchrow(BACKLOG_QUERY))
                last_measure = now
            if published < self._settings.batch_size:
                await self._idle()

    async def _idle(self) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.poll_s):
                await self._wake.wait()
        self._wake.clear()

    async def relay_once(self, conn: asyncpg.Connection) -> int:
        """Publish one batch of the oldest committed events, then delete it."""
        rows = await conn.fetch(
            "SELECT id, topic, envelope FROM event_outbox_fetch($1)", self._settings.batch_size
        )
        if not rows:
            return 0
        await self._bus.publish_many([(r["topic"], r["envelope"]) for r in rows])
        fault_point("relay.published")
        await conn.fetchval("SELECT event_outbox_delete($1::bigint[])", [r["id"] for r in rows])
        RELAYED.inc(len(rows))
        return len(rows)
