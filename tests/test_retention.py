"""Retention on back-dated data: export after 30 days, drop after 90, both idempotent."""

from __future__ import annotations

import gzip
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from services.tracking.retention import DirectoryArchive, apply_retention
from tests.conftest import DatabaseUnderTest


async def backdate(
    owner: asyncpg.Connection, month: str, workspace: uuid.UUID, vehicle: uuid.UUID, rows: int
) -> str:
    year, mon = int(month[:4]), int(month[4:])
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)
    name = f"live_vehicle_positions_p{month}"
    await owner.execute(
        f"CREATE TABLE {name} PARTITION OF live_vehicle_positions FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace)
        )
        for n in range(rows):
            await owner.execute(
                "INSERT INTO live_vehicle_positions (vehicle_id, workspace_id, position, recorded_at)"
                " VALUES ($1, $2, 'SRID=4326;POINT(77.5 12.9)', $3::timestamptz + make_interval(hours => $4))",
                vehicle,
                workspace,
                start,
                n,
            )
    return name


async def test_export_then_drop_on_backdated_partitions(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection, tmp_path: Path
) -> None:
    workspace, org, vehicle = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true), set_config('app.current_organization_id', $2, true)",
            str(workspace),
            str(org),
        )
        await owner_conn.execute(
            "INSERT INTO organizations (id, name, slug) VALUES ($1, 'O', $2)",
            org,
            f"o-{org.hex[:6]}",
        )
        await owner_conn.execute(
            "INSERT INTO workspaces (id, organization_id, name, region) VALUES ($1, $2, 'W', 'eu-west')",
            workspace,
            org,
        )
        await owner_conn.execute(
            "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number) VALUES ($1, $2, 'van', 'OLD-1')",
            vehicle,
            workspace,
        )
    old = await backdate(owner_conn, "202601", workspace, vehicle, 5)  # ~10 months before "now"
    recent = await backdate(owner_conn, "202609", workspace, vehicle, 3)  # ~2 months before
    now = datetime(2026, 11, 26, tzinfo=UTC)
    archive = DirectoryArchive(tmp_path)
    engine = create_async_engine(database.settings.owner_dsn)
    try:
        async with engine.connect() as conn:
            first = await apply_retention(conn=conn, archive=archive, now=now)
        async with engine.connect() as conn:
            second = await apply_retention(conn=conn, archive=archive, now=now)
    finally:
        await engine.dispose()
    assert first.exported == {old: 5, recent: 3}
    assert first.dropped == [old]
    assert second.exported == {}
    assert second.dropped == []
    with gzip.open(archive.path(old), "rt") as lines:
        exported = [json.loads(line) for line in lines]
    assert len(exported) == 5
    assert {row["workspace_id"] for row in exported} == {str(workspace)}
    remaining = {
        r["relname"]
        for r in await owner_conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'live_vehicle_positions'::regclass"
        )
    }
    assert old not in remaining
    assert recent in remaining


async def test_startup_health_reports_rows_in_a_default_partition(
    client: object, owner_conn: asyncpg.Connection
) -> None:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    clean = (await client.get("/health/startup")).json()
    assert clean["checks"]["default_partitions"] == {"ok": True, "detail": "empty"}
    workspace = uuid.uuid4()
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace)
        )
        await owner_conn.execute(
            "INSERT INTO analytics_events (workspace_id, event_type, entity_type, created_at)"
            " VALUES ($1, 'x', 'y', '2031-01-01')",
            workspace,
        )
    report = await client.get("/health/startup")
    assert report.status_code == 200  # reported, not fatal
    assert report.json()["warnings"] == ["default_partitions"]
    assert report.json()["checks"]["default_partitions"]["detail"] == "analytics_events: 1 rows"
