"""Hardware jobs are polled, and cancelled when they run past the allowed wait.

IBM's service cannot be reached from here, so the provider's job is stood in for by an
object with the same three methods (status, cancel, result); the polling and
cancellation logic under test is the backend's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import SimpleNamespace

import pytest

from solvers.quantum.ibm import HardwareTimeout, IbmRuntimeBackend, IbmRuntimeConfig


@dataclass
class ProviderJob:
    states: list[str]
    cancelled: bool = False
    polls: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {"0101": 7, "1010": 3})

    def status(self) -> SimpleNamespace:
        state = self.states[min(self.polls, len(self.states) - 1)]
        self.polls += 1
        return SimpleNamespace(name=state)

    def cancel(self) -> None:
        self.cancelled = True

    def result(self) -> list[SimpleNamespace]:
        register = SimpleNamespace(get_counts=lambda: self.counts)
        data = SimpleNamespace(keys=lambda: ["meas"], meas=register)
        return [SimpleNamespace(data=data)]


def backend_with(job: ProviderJob, **config: float) -> IbmRuntimeBackend:
    backend = IbmRuntimeBackend(IbmRuntimeConfig(local=True, poll_interval_s=0.01, **config))
    backend._jobs["job-1"] = job
    return backend


def test_a_job_that_finishes_in_time_returns_its_counts() -> None:
    job = ProviderJob(["QUEUED", "RUNNING", "RUNNING", "DONE"])
    counts = backend_with(job, max_wait_s=5).result("job-1")
    assert counts == {"0101": 7, "1010": 3}
    assert job.polls == 4
    assert not job.cancelled


def test_a_job_past_the_deadline_is_cancelled() -> None:
    job = ProviderJob(["QUEUED"])
    with pytest.raises(HardwareTimeout, match="cancelled"):
        backend_with(job, max_wait_s=0.05).result("job-1")
    assert job.cancelled


def test_a_failed_job_is_an_error_not_counts() -> None:
    with pytest.raises(RuntimeError, match="error"):
        backend_with(ProviderJob(["RUNNING", "ERROR"]), max_wait_s=5).result("job-1")
