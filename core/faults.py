"""Fault points for crash tests: `OMNIROUTE_FAULTS=name,...` makes the process SIGKILL
itself when it reaches one of them. Honoured only with ENVIRONMENT=test."""

from __future__ import annotations

import os
import signal

FAULTS_ENV = "OMNIROUTE_FAULTS"


def _armed() -> frozenset[str]:
    if os.environ.get("ENVIRONMENT", "").lower() != "test":
        return frozenset()
    return frozenset(filter(None, os.environ.get(FAULTS_ENV, "").split(",")))


_ARMED = _armed()


def fault_point(name: str) -> None:
    """Die here, as a power cut would, if the tests armed `name`."""
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
