"""`python app.py` in a process of its own, on a free loopback port, for the tests that need
the real server: several API processes, or the single-process mode as users start it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from tests.conftest import ROOT


@dataclass(frozen=True)
class ServedApp:
    pid: int
    http: httpx.AsyncClient


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until_ready(
    http: httpx.AsyncClient, process: subprocess.Popen[bytes], *, within_s: float
) -> None:
    """Wait for `/health/ready` to answer 200 while `process` (serving it) runs."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if (await http.get("/health/ready")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        assert time.monotonic() < deadline, f"{process.args} did not start"
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def served_app(
    database_url: str,
    redis_url: str,
    *,
    env: dict[str, str] | None = None,
    start_s: float = 120,
    scheme: str = "http",
) -> AsyncIterator[ServedApp]:
    """The app serving until the block ends, with a client once it is ready; stopped
    with its whole process group (API_WORKERS children included). `scheme="https"` needs
    TLS_CERTFILE and TLS_KEYFILE in `env` (the client does not verify the certificate)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ENVIRONMENT": "test",
            "HOST": "127.0.0.1",
            "PORT": str(port),
            **(env or {}),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"{scheme}://127.0.0.1:{port}", timeout=30, verify=scheme == "http"
        ) as http:
            await until_ready(http, server, within_s=start_s)
            yield ServedApp(server.pid, http)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
