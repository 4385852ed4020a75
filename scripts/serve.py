"""Serve the API, one Dramatiq worker and the events process (outbox relay, consumer
groups, webhook sender) until Ctrl-C, then stop them cleanly.

In single-process mode (no Redis) only the API runs: it drains jobs on an in-process worker
and relays its events to the in-memory bus; no consumer group runs.

Each child runs in a process group of its own, so a terminal's Ctrl-C (SIGINT to the whole
foreground group) reaches this supervisor alone, and it stops every child once: SIGTERM to
the child, which stops the processes it started itself (Dramatiq's worker processes), then
SIGKILL to what is left of the child's group after GRACE_S. SIGINT and SIGTERM, to this
process or to its group, all stop the same way; if this process is SIGKILLed, the kernel
sends each child SIGTERM (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())

from core.settings import get_settings

GRACE_S = 15.0
# A stopping worker lets running jobs finish for a few seconds, hands the others back to the
# broker (tasks.handback), and is given this long in all before it stops waiting.
WORKER_SHUTDOWN_MS = 6000
_PR_SET_PDEATHSIG = 1


def _own_group_ended_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies (Linux only)."""
    os.setpgid(0, 0)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _signal_group(child: subprocess.Popen[bytes], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signum)


def _group_alive(child: subprocess.Popen[bytes]) -> bool:
    child.poll()  # reap it, or a zombie keeps its group alive
    try:
        os.killpg(child.pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM each child once (Dramatiq's and uvicorn's main processes pass it on to their
    own processes: a second one would make them kill those at once); SIGKILL whatever is
    left of each child's group after GRACE_S."""
    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    while any(_group_alive(c) for c in children.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    for name, child in children.items():
        if _group_alive(child):
            print(f"[serve] {name} still running after {GRACE_S:.0f} s; killing it")
            _signal_group(child, signal.SIGKILL)
    for child in children.values():
        child.wait()


def main() -> int:
    settings = get_settings()
    commands = {"api": [sys.executable, "app.py"]}
    if not settings.single_process:
        commands["worker"] = [
            sys.executable,
            "-m",
            "dramatiq",
            "tasks.worker",
            "--processes",
            "1",
            "--threads",
            "2",
            "--worker-shutdown-timeout",
            str(WORKER_SHUTDOWN_MS),
        ]
        commands["events"] = [sys.executable, "-m", "tasks.events"]
    else:
        print("[serve] single-process mode: jobs run on the API's in-process worker")
    # An idle Dramatiq worker polls Redis with a back-off of up to a second; a job would
    # wait that long to be picked up. 100 ms costs ~10 small Redis calls a second.
    env = {
        **os.environ,
        "dramatiq_worker_timeout": os.environ.get("dramatiq_worker_timeout", "100"),  # noqa: SIM112 - Dramatiq reads it in lower case
    }
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    # Before the children start, so that no signal finds the supervisor without its handler.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    children = {
        name: subprocess.Popen(cmd, env=env, preexec_fn=_own_group_ended_with_parent)
        for name, cmd in commands.items()
    }
    print(f"[serve] API on http://{settings.host}:{settings.port} (GraphiQL at /graphql)")
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                print(f"[serve] {name} exited with {code}; stopping")
                exit_code = code or 1
                stopping = True
        time.sleep(0.2)

    # Further signals (make forwards SIGTERM to its child too) change nothing: stop once.
    stop_children(children)
    print("[serve] stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
