"""How services hand work to the workers without importing them: the composition root
(app.py, the worker entry point) provides the implementation."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID


class JobQueue(Protocol):
    async def enqueue_optimization(self, job_id: UUID, workspace_id: UUID) -> None: ...


class ProgressChannel(Protocol):
    """Where a running job reports its progress, and where listeners hear it."""

    async def publish(self, job_id: UUID, message: dict[str, object]) -> None: ...


def progress_channel(job_id: UUID) -> str:
    return f"job-progress:{job_id}"


class JobNotFound(LookupError):
    """A worker was handed a job its database does not hold: a message of another deployment
    sharing the broker, or a job deleted since."""

    def __init__(self, job_id: UUID) -> None:
        super().__init__(f"optimization job {job_id} does not exist in this database")
        self.job_id = job_id


class JobLeaseHeld(RuntimeError):
    """A repeated delivery of a job whose worker still renews its lease: try again later."""

    def __init__(self, job_id: UUID, retry_after_s: float) -> None:
        super().__init__(f"optimization job {job_id} is held by a live worker")
        self.retry_after_s = retry_after_s
