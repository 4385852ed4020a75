"""Scheduled housekeeping actors."""

from __future__ import annotations

import dramatiq

import tasks.broker  # noqa: F401 - installs the broker before actors are declared
from core.metrics import JOBS
from services import maintenance
from tasks.runtime import context


@dramatiq.actor(queue_name="maintenance", max_retries=5)
async def ensure_partitions() -> None:
    """Create next months' partitions of the time series; safe to run any number of times."""
    rt = (await context()).runtime
    async with rt.db.session(None) as session:
        await maintenance.ensure_partitions(
            session=session, months_ahead=rt.settings.partition_months_ahead
        )
    JOBS.labels("ensure_partitions", "completed").inc()
