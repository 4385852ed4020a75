"""Operations actors: an incident's SLA check, woken at its deadline."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from uuid import UUID

import dramatiq

import tasks.broker  # noqa: F401 - installs the broker before actors are declared
from core.metrics import JOBS
from services.operations import scene
from tasks.runtime import context

log = logging.getLogger(__name__)


@dramatiq.actor(queue_name="maintenance", max_retries=5)
async def check_incident_sla(incident_id: str, workspace_id: str) -> None:
    """Mark the incident breached if its deadline passed with nobody on scene; a repeated
    or early delivery changes nothing."""
    ctx = await context()
    async with ctx.runtime.db.session(UUID(workspace_id)) as session:
        await scene.check_deadline(
            session=session,
            workspace_id=UUID(workspace_id),
            incident_id=UUID(incident_id),
            hub=ctx.channels,
        )
    JOBS.labels("check_incident_sla", "completed").inc()


class DramatiqSlaClock:
    """The API's side: a message delayed until just after the deadline."""

    async def schedule(self, incident_id: UUID, workspace_id: UUID, at: datetime) -> None:
        """Never fails the report it follows: without the broker the deadline is still
        checked with every position of the incident's units."""
        delay_ms = max(0, int((at - datetime.now(UTC)).total_seconds() * 1000)) + 1000
        try:
            await asyncio.to_thread(
                check_incident_sla.send_with_options,
                args=(str(incident_id), str(workspace_id)),
                delay=delay_ms,
            )
        except Exception:
            log.exception("could not schedule the SLA check", extra={"incident": str(incident_id)})
