"""Routing actors: solve an optimization job on a worker."""

from __future__ import annotations

import asyncio
from uuid import UUID

import dramatiq

import tasks.broker  # noqa: F401 - installs the broker before actors are declared
from core.metrics import JOBS
from services.routing.optimization import run_job
from tasks.delivery import DEAD_LETTER_UNKNOWN, guarded_delivery
from tasks.runtime import context


@dramatiq.actor(
    queue_name="optimization",
    max_retries=3,
    time_limit=15 * 60 * 1000,
    throws=DEAD_LETTER_UNKNOWN,
)
async def optimize_route(job_id: str, workspace_id: str) -> None:
    """Solve job `job_id`; a repeated delivery of the same message finds it claimed."""
    ctx = await context()
    with guarded_delivery("optimize_route"):
        status = await run_job(
            db=ctx.runtime.db,
            cache=ctx.runtime.cache,
            channel=ctx.progress,
            job_id=UUID(job_id),
            workspace_id=UUID(workspace_id),
            lease_s=ctx.runtime.settings.job_lease_s,
        )
    JOBS.labels("optimize_route", status.value if status else "skipped").inc()


class DramatiqJobQueue:
    """The API's side of the queue: `send` blocks on the broker, so it runs in a thread."""

    async def enqueue_optimization(self, job_id: UUID, workspace_id: UUID) -> None:
        await asyncio.to_thread(optimize_route.send, str(job_id), str(workspace_id))
