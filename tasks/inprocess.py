"""The single-process mode's worker: a Dramatiq worker thread inside the API process."""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker

import tasks.worker  # noqa: F401 - registers every actor on the broker


def start_in_process_worker(threads: int = 2) -> dramatiq.Worker | None:
    """Drain the in-memory broker in this process; a real broker has its own workers."""
    broker = dramatiq.get_broker()
    if not isinstance(broker, StubBroker):
        return None
    worker = dramatiq.Worker(broker, worker_threads=threads, worker_timeout=100)
    worker.start()
    return worker
