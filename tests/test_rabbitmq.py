"""The same jobs with RabbitMQ as the broker (`BROKER_URL=amqp://...`): routing, quantum and
maintenance actors, and a worker SIGKILLed mid-solve. Runs in a virtual host of its own,
created with rabbitmqctl where the suite runs as root; skipped where no RabbitMQ answers."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess

import asyncpg
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker

from tests.conftest import TEST_DB_PREFIX, DatabaseUnderTest
from tests.helpers import register
from tests.routing_helpers import (
    CUSTOMERS,
    DEPOT,
    city,
    make_location,
    make_vehicle,
    route_body,
    start_worker,
)
from tests.served_app import served_app
from tests.test_partitions import _months_ahead, partition_created_by_worker
from tests.test_worker_faults import FAST_RECOVERY, killed_mid_solve

VHOST = f"{TEST_DB_PREFIX}_tests"
AMQP_URL = os.environ.get("OMNIROUTE_TEST_AMQP_URL", f"amqp://guest:guest@127.0.0.1:5672/{VHOST}")
QUEUES = ("optimization", "maintenance", "quantum")


def _reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def amqp_url() -> str:
    if not _reachable():
        pytest.skip("no RabbitMQ on 127.0.0.1:5672")
    ctl = shutil.which("rabbitmqctl")
    if ctl and "OMNIROUTE_TEST_AMQP_URL" not in os.environ:
        existing = subprocess.run(
            [ctl, "list_vhosts", "--quiet"], capture_output=True, text=True, check=False
        )
        if VHOST not in existing.stdout.split():
            subprocess.run([ctl, "add_vhost", VHOST], capture_output=True, check=True)
            subprocess.run(
                [ctl, "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"],
                capture_output=True,
                check=True,
            )
    return AMQP_URL


@pytest.fixture
def rabbit(amqp_url: str) -> dict[str, str]:
    """The environment that points a process at the test's virtual host, its queues empty."""
    broker = RabbitmqBroker(url=amqp_url)
    try:
        for queue in QUEUES:
            broker.declare_queue(queue)
            broker.flush(queue)
    finally:
        broker.close()
    return {"BROKER_URL": amqp_url}


async def test_routing_quantum_and_maintenance_jobs_on_rabbitmq(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection, rabbit: dict[str, str]
) -> None:
    worker = start_worker(database.owner_url, env=rabbit)
    try:
        async with served_app(database.owner_url, os.environ["REDIS_URL"], env=rabbit) as api:
            http = api.http
            admin = await register(http)
            h = admin.headers
            depot, customers = await city(http, admin)
            van = await make_vehicle(http, admin, "MQ-1")
            route = await http.post(
                "/api/v1/routes", json=route_body(depot, customers, van), headers=h
            )
            done = await http.post(
                f"/api/v1/routes/{route.json()['data']['id']}/optimize?wait=60", headers=h
            )
            assert done.status_code == 200, done.text
            assert done.json()["data"]["route"]["status"] == "optimized"

            quantum_depot = await make_location(http, admin, "QD", *DEPOT, "depot")
            stops = [
                await make_location(http, admin, f"Q{i}", lng, lat, "customer")
                for i, (lng, lat) in enumerate(CUSTOMERS[:3])
            ]
            quantum = await http.post(
                "/api/v1/quantum/optimize?wait=60",
                json={
                    "location_ids": stops,
                    "depot_location_id": quantum_depot,
                    "max_iterations": 20,
                    "shots": 512,
                },
                headers=h,
            )
            assert quantum.status_code == 200, quantum.text
            assert quantum.json()["data"]["status"] == "completed"
            assert len(quantum.json()["data"]["quantum_runs"]) == 1

        missing = f"live_vehicle_positions_p{_months_ahead(3)}"
        await owner_conn.execute(f"DROP TABLE {missing}")
        env = {**os.environ, "DATABASE_URL": database.owner_url, **rabbit}
        await partition_created_by_worker(owner_conn, missing, env)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


async def test_a_worker_killed_mid_solve_on_rabbitmq(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection, rabbit: dict[str, str]
) -> None:
    env = {**FAST_RECOVERY, **rabbit}
    async with served_app(database.owner_url, os.environ["REDIS_URL"], env=rabbit) as api:
        await killed_mid_solve(api.http, owner_conn, database.owner_url, env)
