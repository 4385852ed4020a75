"""The single-process mode's worker: a Dramatiq worker thread inside the API process."""

from __future__ import annotations

import dramatiq

import tasks.worker  # noqa: F401 - registers every actor on the broker


def start_in_process_worker(threads: int = 2) -> dramatiq.Worker:
    worker = dramatiq.Worker(dramatiq.get_broker(), worker_threads=threads)
    worker.start()
    return worker
