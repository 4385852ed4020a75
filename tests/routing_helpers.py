"""Fixtures for routing tests: a real Dramatiq worker on the test database, and a small
city of locations to route through."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import IO, Any

import httpx
import pytest

from tests.conftest import ROOT, TEST_REDIS_URL, DatabaseUnderTest
from tests.helpers import Session

DEPOT = (77.5187, 13.0285)
# Customers around Bengaluru, listed in a deliberately zig-zagging order.
CUSTOMERS = [
    (77.7500, 12.9698),
    (77.5710, 13.0031),
    (77.6701, 12.8452),
    (77.5550, 12.9915),
    (77.6408, 12.9719),
    (77.5737, 12.9422),
    (77.7010, 12.9569),
    (77.5970, 13.0358),
]


def start_worker(
    database_url: str,
    *,
    env: dict[str, str] | None = None,
    stderr: IO[bytes] | None = None,
    queues: tuple[str, ...] = (),
    new_session: bool = False,
) -> subprocess.Popen[bytes]:
    """`dramatiq tasks.worker` (one worker process, two threads) on a database and the test
    Redis; `env` overrides the environment, `stderr` catches its log."""
    command = [sys.executable, "-m", "dramatiq", "tasks.worker", "--processes", "1"]
    command += ["--threads", "2", *(["--queues", *queues] if queues else [])]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": TEST_REDIS_URL,
            "ENVIRONMENT": "test",
            "dramatiq_worker_timeout": "100",
            **(env or {}),
        },
        stderr=stderr,
        start_new_session=new_session,
    )


@pytest.fixture
def worker(database: DatabaseUnderTest) -> Iterator[subprocess.Popen[bytes]]:
    """`dramatiq tasks.worker` as its own process, on this test's database and Redis."""
    process = start_worker(database.owner_url)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=20)


async def make_location(
    client: httpx.AsyncClient, who: Session, name: str, lng: float, lat: float, kind: str
) -> str:
    response = await client.post(
        "/api/v1/locations",
        json={"name": name, "geo": {"lng": lng, "lat": lat}, "location_type": kind},
        headers=who.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def city(client: httpx.AsyncClient, who: Session) -> tuple[str, list[str]]:
    depot = await make_location(client, who, "Depot", *DEPOT, "depot")
    customers = [
        await make_location(client, who, f"Customer {i}", lng, lat, "customer")
        for i, (lng, lat) in enumerate(CUSTOMERS)
    ]
    return depot, customers


async def make_vehicle(client: httpx.AsyncClient, who: Session, plate: str, **extra: Any) -> str:
    response = await client.post(
        "/api/v1/vehicles",
        json={"vehicle_type": "van", "plate_number": plate, "capacity_kg": 1000, **extra},
        headers=who.headers,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


def route_body(depot: str, customers: list[str], vehicle: str | None, **extra: Any) -> dict:
    return {
        "name": "Morning run",
        "vehicle_id": vehicle,
        "depot_location_id": depot,
        "planned_start": "2030-03-01T08:00:00Z",
        "stops": [{"location_id": c, "load_kg": 50, "service_time_minutes": 5} for c in customers],
        **extra,
    }
