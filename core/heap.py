"""Garbage-collector settings for long-running processes.

The API and the workers import large libraries (SQLAlchemy, Strawberry, the solvers and
Qiskit): a couple of hundred thousand objects that live as long as the process. With the
interpreter's defaults, every 700 allocations start a collection, and every hundredth of
those walks all of them again: measured on a 200-stop cache hit, about 2 ms per request and
a 140 ms pause now and then. Freezing what exists once the process is ready moves it out of
the collector's sight, and a larger first-generation threshold lets a request's short-lived
objects die by reference counting before anything scans them.
"""

from __future__ import annotations

import gc

_settled = False


def settle(gen0_threshold: int) -> None:
    """Collect once, freeze the survivors, then collect the young generation every
    `gen0_threshold` allocations (0 keeps the interpreter's threshold). Once per process:
    an app started again in the same process (as tests do) must not freeze the last one's
    objects, which the collector could then never free."""
    global _settled
    if _settled:
        return
    _settled = True
    gc.collect()
    gc.freeze()
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
