"""Serve the API, one Dramatiq worker and the events process (outbox relay, consumer
groups, webhook sender) until Ctrl-C, then stop them cleanly.

In single-process mode (no Redis) only the API runs: it drains jobs on an in-process worker
and relays its events to the in-memory bus; no consumer group runs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.getcwd())

from core.settings import get_settings

GRACE_S = 15.0


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
    children = {name: subprocess.Popen(cmd, env=env) for name, cmd in commands.items()}
    print(f"[serve] API on http://{settings.host}:{settings.port} (GraphiQL at /graphql)")

    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    exit_code = 0
    while not stopping:
        for name, child in children.items():
            code = child.poll()
            if code is not None:
                print(f"[serve] {name} exited with {code}; stopping")
                exit_code = code or 1
                stopping = True
        time.sleep(0.2)

    for child in children.values():
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + GRACE_S
    for child in children.values():
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    print("[serve] stopped")
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
