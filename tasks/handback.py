"""A stopping worker hands its unfinished jobs back: each goes back to `pending` and a new
message for it goes to the broker, so another worker (or this one, restarted) takes it at
once instead of after the lease and the broker's redelivery delay."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

import dramatiq
from dramatiq.asyncio import get_event_loop_thread
from dramatiq.brokers.stub import StubBroker

from services.quantum.jobs import ACTOR as QUANTUM_ACTOR
from services.quantum.jobs import QUEUE as QUANTUM_QUEUE
from services.routing import leases
from tasks.runtime import current

log = logging.getLogger(__name__)

# How long a stopping worker lets its running jobs finish before handing them back.
FINISH_WAIT_S = 3.0


def _message(claim: leases.Claim) -> dramatiq.Message[Any]:
    quantum = "quantum" in claim.input
    return dramatiq.Message(
        queue_name=QUANTUM_QUEUE if quantum else "optimization",
        actor_name=QUANTUM_ACTOR if quantum else "optimize_route",
        args=(str(claim.job_id), str(claim.workspace_id)),
        kwargs={},
        options={},
    )


class HandBackOnShutdown(dramatiq.Middleware):
    def __init__(self) -> None:
        self.abandoned = 0
        self.handed_back: list[leases.Claim] = []

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        deadline = time.monotonic() + FINISH_WAIT_S
        while leases.active and time.monotonic() < deadline:
            time.sleep(0.05)
        context, loop = current(), get_event_loop_thread()
        if context is None or loop is None:
            return
        for claim in list(leases.active.values()):
            self.abandoned += 1
            try:
                if loop.run_coroutine(leases.hand_back(context.runtime.db, claim)):
                    self.handed_back.append(claim)
            except Exception:
                # Its lease runs out and the broker delivers the message again.
                log.exception("handing a job back failed", extra={"job_id": str(claim.job_id)})

    def after_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        # Sent once this worker's consumers are closed, so that it cannot fetch them itself.
        for claim in self.handed_back:
            broker.enqueue(_message(claim))
            log.info("job handed back", extra={"job_id": str(claim.job_id)})
        # A solve runs in C on a thread nothing can interrupt, and Python waits for that
        # thread before a process exits: a worker process that abandoned a solve ends now.
        # (In single-process mode the worker is a thread of the API: left alone.)
        if self.abandoned and not isinstance(broker, StubBroker):
            logging.shutdown()
            os._exit(0)
