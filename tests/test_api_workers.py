"""API_WORKERS: several API processes share one port, and each accepts position reports."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time

import httpx

from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import register
from tests.routing_helpers import make_vehicle


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if parent == pid:
                found.append(int(entry))
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_two_api_workers_serve_one_port_and_store_what_they_acknowledge(
    database: DatabaseUnderTest,
) -> None:
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database.owner_url,
        "REDIS_URL": TEST_REDIS_URL,
        "ENVIRONMENT": "test",
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "API_WORKERS": "2",
    }
    server = subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if (await http.get("/health/ready")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the API workers did not start"
                await asyncio.sleep(0.3)
            # The supervisor and its two workers (each with its own writer and pools).
            assert len(_children(server.pid)) >= 2
            admin = await register(http)
            van = await make_vehicle(http, admin, "WORKERS-1")
            posted = await asyncio.gather(
                *(
                    http.post(
                        "/api/v1/tracking/update",
                        json={"vehicle_id": van, "lng": 77.5 + n / 1000, "lat": 12.9},
                        headers=admin.headers,
                    )
                    for n in range(20)
                )
            )
            assert [p.status_code for p in posted] == [201] * 20
            latest = await http.get(f"/api/v1/tracking/vehicle/{van}", headers=admin.headers)
            assert latest.status_code == 200, latest.text
            assert latest.json()["data"]["position"] is not None
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
