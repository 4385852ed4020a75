"""Migrations: a full round trip, and models that agree with the migrated schema."""

from __future__ import annotations

import asyncpg

from tests.conftest import (
    POSTGIS_TEMPLATE,
    DatabaseUnderTest,
    _owner_url,
    create_database,
    drop_database,
    fresh_database_name,
    run_alembic,
)


async def _public_tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
            " AND tablename <> 'spatial_ref_sys'"
        )
        return {r["tablename"] for r in rows}
    finally:
        await conn.close()


async def test_upgrade_downgrade_upgrade_round_trip() -> None:
    name = fresh_database_name()
    await create_database(name, POSTGIS_TEMPLATE)
    url = _owner_url(name)
    dsn = url
    try:
        up = run_alembic(url, "upgrade", "head")
        assert up.returncode == 0, up.stderr
        tables = await _public_tables(dsn)
        assert {"vehicles", "routes", "live_vehicle_positions_default", "audit_logs"} <= tables

        down = run_alembic(url, "downgrade", "base")
        assert down.returncode == 0, down.stderr
        assert await _public_tables(dsn) == {"alembic_version"}
        conn = await asyncpg.connect(dsn)
        try:
            leftovers = await conn.fetch(
                "SELECT typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace"
                " WHERE n.nspname = 'public' AND t.typtype = 'e'"
            )
            functions = await conn.fetch(
                "SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                " WHERE n.nspname = 'public' AND proname LIKE ANY"
                " (ARRAY['auth_%', 'ensure_monthly_partitions', 'omniroute_%'])"
            )
        finally:
            await conn.close()
        assert leftovers == [] and functions == []

        again = run_alembic(url, "upgrade", "head")
        assert again.returncode == 0, again.stderr
        assert tables == await _public_tables(dsn)
    finally:
        await drop_database(name)


async def test_models_match_migrations(database: DatabaseUnderTest) -> None:
    check = run_alembic(database.owner_url, "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
