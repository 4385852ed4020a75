"""core.polling: a wait for another process's state ends when the state is final, or at
the deadline with the latest state read."""

from __future__ import annotations

import time

from core.polling import poll


async def test_returns_the_first_final_state() -> None:
    states = iter(["queued", "running", "running", "completed", "never read"])
    reads: list[str] = []

    async def read() -> str:
        reads.append(next(states))
        return reads[-1]

    done = await poll(
        read, lambda s: s == "completed", timeout_s=5, first_pause_s=0.001, max_pause_s=0.01
    )
    assert done == "completed"
    assert reads == ["queued", "running", "running", "completed"]


async def test_returns_the_latest_state_at_the_deadline() -> None:
    reads = 0

    async def read() -> int:
        nonlocal reads
        reads += 1
        return reads

    started = time.monotonic()
    last = await poll(read, lambda _: False, timeout_s=0.3, first_pause_s=0.05, max_pause_s=1)
    waited = time.monotonic() - started
    assert 0.3 <= waited < 1.0  # no pause runs past the deadline
    assert last == reads and reads >= 3  # read again at the deadline itself
