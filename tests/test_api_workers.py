"""API_WORKERS: several API processes share one port, and each accepts position reports."""

from __future__ import annotations

import asyncio
import os

from tests.conftest import TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import register
from tests.routing_helpers import make_vehicle
from tests.served_app import served_app


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


async def test_two_api_workers_serve_one_port_and_store_what_they_acknowledge(
    database: DatabaseUnderTest,
) -> None:
    async with served_app(database.owner_url, TEST_REDIS_URL, env={"API_WORKERS": "2"}) as server:
        # The supervisor and its two workers (each with its own writer and pools).
        assert len(_children(server.pid)) >= 2
        http = server.http
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
