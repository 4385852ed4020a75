"""Scheduled housekeeping actors."""

from __future__ import annotations

import logging

import dramatiq
from sqlalchemy.ext.asyncio import create_async_engine

import tasks.broker  # noqa: F401 - installs the broker before actors are declared
from core.metrics import JOBS
from services import maintenance
from services.tracking import retention
from services.tracking.retention import DirectoryArchive
from tasks.runtime import context

log = logging.getLogger(__name__)


@dramatiq.actor(queue_name="maintenance", max_retries=5)
async def ensure_partitions() -> None:
    """Create next months' partitions of the time series; safe to run any number of times."""
    rt = (await context()).runtime
    async with rt.db.session(None) as session:
        await maintenance.ensure_partitions(
            session=session, months_ahead=rt.settings.partition_months_ahead
        )
    JOBS.labels("ensure_partitions", "completed").inc()


@dramatiq.actor(queue_name="maintenance", max_retries=3)
async def apply_retention() -> None:
    """Export month partitions past 30 days and drop those past 90 (as the schema owner)."""
    settings = (await context()).runtime.settings
    engine = create_async_engine(settings.owner_dsn, pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as conn:
            report = await retention.apply_retention(
                conn=conn, archive=DirectoryArchive(settings.archive_dir)
            )
    finally:
        await engine.dispose()
    log.info("retention applied", extra={"exported": report.exported, "dropped": report.dropped})
    JOBS.labels("apply_retention", "completed").inc()
