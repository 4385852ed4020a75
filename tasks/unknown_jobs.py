"""What an actor does with a message for a job its database does not hold."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from core.jobs import JobNotFound
from core.settings import get_settings

log = logging.getLogger(__name__)

# Actor option: a JobNotFound is not retried; Dramatiq fails the message, which the broker
# keeps in the queue's dead-letter set (Redis `<queue>.XQ`, RabbitMQ queue `<queue>.XQ`).
DEAD_LETTER_UNKNOWN = (JobNotFound,)


@contextlib.contextmanager
def dead_letter_unknown(actor: str) -> Iterator[None]:
    """Log an error naming the job and the deployment, then let the message dead-letter:
    it may be another deployment's, so it must be neither run nor silently dropped."""
    try:
        yield
    except JobNotFound as exc:
        log.error(
            "%s: job %s is not in this deployment's database (%s); message dead-lettered",
            actor,
            exc.job_id,
            get_settings().deployment,
            extra={"job_id": str(exc.job_id), "deployment": get_settings().deployment},
        )
        raise
