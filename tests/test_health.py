"""Health probes as an orchestrator sees them."""

from __future__ import annotations

import socket

import httpx

from services.health import code_head_revision
from tests.conftest import DatabaseUnderTest, settings_for, start_app


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_liveness_readiness_and_startup_when_all_is_up(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    ready = await client.get("/health/ready")
    assert ready.status_code == 200
    assert {name for name, c in ready.json()["checks"].items() if c["ok"]} == {
        "database",
        "redis",
        "broker",
    }
    startup = await client.get("/health/startup")
    assert startup.status_code == 200
    assert startup.json()["checks"]["migrations"]["detail"].startswith("at head")


async def test_readiness_is_503_naming_redis_when_redis_is_down(
    database: DatabaseUnderTest,
) -> None:
    dead = f"redis://127.0.0.1:{_closed_port()}/0"
    app, lifespan = await start_app(settings_for(database.name, redis_url=dead, broker_url=dead))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/health/ready")
            assert (await client.get("/health")).status_code == 200
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
    assert ready.status_code == 503
    body = ready.json()
    assert "redis" in body["down"] and "broker" in body["down"]
    assert body["checks"]["database"]["ok"] is True


async def test_readiness_is_503_naming_the_database_when_it_is_unreachable(
    database: DatabaseUnderTest,
) -> None:
    settings = settings_for(
        database.name, app_database_url=f"postgresql://nobody@127.0.0.1:{_closed_port()}/x"
    )
    app, lifespan = await start_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/health/ready")
            startup = await client.get("/health/startup")
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
    assert ready.status_code == 503 and ready.json()["down"] == ["database"]
    assert startup.status_code == 503


async def test_startup_reports_a_database_behind_the_code(
    client: httpx.AsyncClient, owner_conn: object
) -> None:
    import asyncpg

    assert isinstance(owner_conn, asyncpg.Connection)
    await owner_conn.execute("UPDATE alembic_version SET version_num = '0003'")
    startup = await client.get("/health/startup")
    assert startup.status_code == 503
    head = code_head_revision()
    assert startup.json()["checks"]["migrations"]["detail"] == f"database at 0003, code at {head}"


async def test_single_process_mode_is_ready_without_redis(database: DatabaseUnderTest) -> None:
    app, lifespan = await start_app(settings_for(database.name, redis_url="memory://"))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            ready = await client.get("/health/ready")
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
    assert ready.status_code == 200
    assert "single-process" in ready.json()["checks"]["redis"]["detail"]
