"""Quantum actors: QAOA jobs on their own queue, a few at a time across all workers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import dramatiq
from dramatiq.rate_limits import ConcurrentRateLimiter

import tasks.broker  # noqa: F401 - installs the broker before actors are declared
from core.metrics import JOBS
from core.settings import get_settings
from services.quantum.jobs import ACTOR, QUEUE, run_quantum_job
from tasks.delivery import DEAD_LETTER_UNKNOWN, guarded_delivery
from tasks.runtime import context

# Statevector simulation of 16-20 qubits takes a core for seconds to a minute: at most this
# many circuits run at once, however many worker processes listen on the queue.
CONCURRENCY = 2
LEASE_MS = 40 * 60 * 1000
_limiter: ConcurrentRateLimiter | None = None


def limiter() -> ConcurrentRateLimiter:
    global _limiter
    if _limiter is None:
        settings = get_settings()
        backend: Any
        if settings.single_process:
            from dramatiq.rate_limits.backends import StubBackend

            backend = StubBackend()
        else:
            from dramatiq.rate_limits.backends import RedisBackend

            backend = RedisBackend(url=settings.redis_url)
        key = f"{settings.deployment}:quantum-jobs"
        _limiter = ConcurrentRateLimiter(backend, key, limit=CONCURRENCY, ttl=LEASE_MS)
    return _limiter


@dramatiq.actor(
    actor_name=ACTOR,
    queue_name=QUEUE,
    max_retries=50,
    min_backoff=1000,
    max_backoff=30_000,
    time_limit=LEASE_MS,
    throws=DEAD_LETTER_UNKNOWN,
)
async def optimize_quantum(job_id: str, workspace_id: str) -> None:
    """Run quantum job `job_id`; over the concurrency limit the message is retried later,
    and a repeated delivery finds the job already claimed."""
    ctx = await context()
    with guarded_delivery(ACTOR), limiter().acquire():
        status = await run_quantum_job(
            db=ctx.runtime.db,
            settings=get_settings(),
            job_id=UUID(job_id),
            workspace_id=UUID(workspace_id),
        )
    JOBS.labels("optimize_quantum", status.value if status else "skipped").inc()
