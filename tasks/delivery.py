"""What an actor does with a delivery it cannot run now: a job its database does not hold,
or a job another live worker holds."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

import dramatiq

from core.jobs import JobLeaseHeld, JobNotFound
from core.settings import get_settings

log = logging.getLogger(__name__)

# Actor option: a JobNotFound is not retried; Dramatiq fails the message, which the broker
# keeps in the queue's dead-letter set (Redis `<queue>.XQ`, RabbitMQ queue `<queue>.XQ`).
DEAD_LETTER_UNKNOWN = (JobNotFound,)


@contextlib.contextmanager
def guarded_delivery(actor: str) -> Iterator[None]:
    """An unknown job: log an error naming the job and the deployment, and let the message
    dead-letter (it may be another deployment's: neither run nor silently dropped). A job
    whose lease still runs: come back once it has run out."""
    try:
        yield
    except JobNotFound as exc:
        deployment = get_settings().deployment
        log.error(
            "%s: job %s is not in this deployment's database (%s); message dead-lettered",
            actor,
            exc.job_id,
            deployment,
            extra={"job_id": str(exc.job_id), "deployment": deployment},
        )
        raise
    except JobLeaseHeld as exc:
        raise dramatiq.Retry(str(exc), delay=int(exc.retry_after_s * 1000) + 1000) from exc
