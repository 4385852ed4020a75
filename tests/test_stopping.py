"""Stopping `make run` leaves no process behind: a terminal's Ctrl-C (SIGINT to the whole
foreground group), SIGTERM to the supervisor, and SIGTERM to the group each end make, the
supervisor, the API, Dramatiq's main process and its worker within the grace period, and
the job being solved is handed back to the broker."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from core.settings import get_settings
from scripts.serve import GRACE_S
from tasks.broker import redis_namespace
from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import register
from tests.processes import alive, command_line, descendants
from tests.served_app import free_port, until_ready
from tests.test_worker_faults import long_solve, wait_for_job

# make -> serve.py -> {python app.py, dramatiq main -> dramatiq worker}
EXPECTED = ("make", "scripts/serve.py", "app.py", "dramatiq tasks.worker")


def _tree(make: subprocess.Popen[bytes]) -> list[int]:
    return [make.pid, *descendants(make.pid)]


async def _start(tmp_path: Path, database: DatabaseUnderTest, port: int) -> subprocess.Popen[bytes]:
    makefile = tmp_path / "Makefile"
    makefile.write_text(f"run:\n\t@{sys.executable} scripts/serve.py\n")
    env = {
        **os.environ,
        "DATABASE_URL": database.owner_url,
        "REDIS_URL": TEST_REDIS_URL,
        "ENVIRONMENT": "test",
        "HOST": "127.0.0.1",
        "PORT": str(port),
    }
    # Its own session and group, as a terminal runs a foreground job.
    log = (tmp_path / "make.log").open("wb")
    return subprocess.Popen(
        ["make", "--no-print-directory", "-f", str(makefile), "run"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


async def _wait_for_worker_process(make: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    while sum("dramatiq" in command_line(p) for p in _tree(make)) < 2:
        assert make.poll() is None, "make run exited"
        assert time.monotonic() < deadline, "Dramatiq did not fork its worker"
        await asyncio.sleep(0.2)


@pytest.mark.parametrize("how", ["group SIGINT", "SIGTERM to serve.py", "group SIGTERM"])
async def test_stopping_make_run_ends_every_process_and_hands_the_job_back(
    database: DatabaseUnderTest,
    redis: Redis,
    owner_conn: asyncpg.Connection,
    tmp_path: Path,
    how: str,
) -> None:
    port = free_port()
    make = await _start(tmp_path, database, port)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            await until_ready(http, make, within_s=90)
            await _wait_for_worker_process(make)
            admin = await register(http)
            _, job = await long_solve(http, admin, time_limit_s=60)
            await wait_for_job(http, admin, job, {"running"}, within_s=90)

            tree = _tree(make)
            names = " | ".join(command_line(p) for p in tree)
            for expected in EXPECTED:
                assert expected in names, names
            supervisor = next(p for p in tree if "scripts/serve.py" in command_line(p))
            stopped_at = time.monotonic()
            if how == "group SIGINT":
                os.killpg(make.pid, signal.SIGINT)
            elif how == "SIGTERM to serve.py":
                os.kill(supervisor, signal.SIGTERM)
            else:
                os.killpg(make.pid, signal.SIGTERM)
            # Within the grace period, with room for a loaded machine's slowness.
            while any(alive(p) for p in tree):
                left = [command_line(p) for p in tree if alive(p)]
                assert time.monotonic() - stopped_at < GRACE_S + 10, f"still running: {left}"
                await asyncio.sleep(0.1)
            make.wait(timeout=10)
    finally:
        if make.poll() is None:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()

    # Handed back: pending again, with a message for it waiting in the broker.
    namespace = redis_namespace(get_settings())
    waiting = await redis.lrange(f"{namespace}:optimization", 0, -1)
    bodies = [await redis.hget(f"{namespace}:optimization.msgs", i) for i in waiting]
    assert any(job.encode() in (body or b"") for body in bodies), (
        tmp_path / "make.log"
    ).read_text()[-6000:]
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        status = await owner_conn.fetchval(
            "SELECT status::text FROM optimization_jobs WHERE id = $1::uuid", job
        )
    assert status == "pending"
