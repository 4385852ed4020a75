"""Tenant isolation in the database itself: the catalog, and the app role's behaviour."""

from __future__ import annotations

import uuid

import asyncpg
import pytest

from models import TENANT_TABLES
from tests.conftest import DatabaseUnderTest

TENANT_PREDICATE = (
    "(workspace_id = (nullif(current_setting('app.current_workspace_id'::text, true),"
    " ''::text))::uuid)"
)
# Spec tables scoped only through a parent, which carry their own workspace_id.
SCOPED_THROUGH_PARENT = {
    "route_stops",
    "route_paths",
    "quantum_jobs",
    "drivers",
    "live_vehicle_positions",
}
POSTGIS_VIEWS = {"geography_columns", "geometry_columns"}  # column metadata, no tenant rows


async def test_every_table_with_workspace_id_is_forced_under_rls(
    owner_conn: asyncpg.Connection,
) -> None:
    rows = await owner_conn.fetch(
        """
        SELECT c.relname, c.relrowsecurity, c.relforcerowsecurity
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'workspace_id'
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
        """
    )
    tables = {r["relname"]: r for r in rows}
    boundary = {"workspaces", "organizations"}
    assert tables.keys() >= SCOPED_THROUGH_PARENT
    assert set(TENANT_TABLES) <= tables.keys()
    # Partitions are listed too: a partition queried by name must filter like its parent.
    assert "live_vehicle_positions_default" in tables
    unprotected = [
        n for n, r in tables.items() if not (r["relrowsecurity"] and r["relforcerowsecurity"])
    ]
    assert unprotected == []

    policies = await owner_conn.fetch(
        "SELECT tablename, policyname, cmd, roles::text[] AS roles, qual, with_check"
        " FROM pg_policies WHERE schemaname = 'public'"
    )
    isolation = {p["tablename"]: p for p in policies if p["policyname"] == "workspace_isolation"}
    missing = [t for t in (*tables, *boundary) if t not in isolation]
    assert missing == []
    for table in tables:
        policy = isolation[table]
        assert policy["cmd"] == "ALL"
        assert policy["with_check"] is not None, f"{table} policy lacks WITH CHECK"
        assert policy["roles"] == ["public"]
        assert policy["qual"].lower() == TENANT_PREDICATE, policy["qual"]
        assert policy["with_check"].lower() == TENANT_PREDICATE
    for table in ("workspaces", "organizations"):
        assert table in isolation and isolation[table]["with_check"] is not None


async def test_application_role_cannot_bypass_rls(
    owner_conn: asyncpg.Connection, database: DatabaseUnderTest
) -> None:
    app_role = database.settings.db_app_role
    role = await owner_conn.fetchrow(
        "SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles"
        " WHERE rolname = $1",
        app_role,
    )
    assert role is not None
    assert not role["rolsuper"] and not role["rolbypassrls"]
    owned = await owner_conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner"
        " WHERE r.rolname = $1",
        app_role,
    )
    assert owned == []
    # No policy grants the app role an unfiltered view of anything.
    loose = await owner_conn.fetch(
        "SELECT tablename, policyname FROM pg_policies WHERE schemaname = 'public'"
        " AND $1 = ANY(roles) OR (schemaname = 'public' AND 'public' = ANY(roles)"
        " AND qual = 'true')",
        app_role,
    )
    assert loose == []


async def test_views_are_not_readable_without_tenant_filtering(
    owner_conn: asyncpg.Connection, database: DatabaseUnderTest
) -> None:
    rows = await owner_conn.fetch(
        """
        SELECT c.relname, c.relkind, c.reloptions
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('v', 'm')
          AND has_table_privilege($1, c.oid, 'SELECT')
        """,
        database.settings.db_app_role,
    )
    exposed = [
        r["relname"]
        for r in rows
        if r["relname"] not in POSTGIS_VIEWS
        # A view is safe only if it runs with the caller's rights (RLS applies through it).
        and not (r["relkind"] == "v" and "security_invoker=true" in (r["reloptions"] or []))
    ]
    assert exposed == []


async def _seed_two_workspaces(owner: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    """Workspaces A and B, each with one vehicle, inserted under their own tenant setting."""
    org = uuid.uuid4()
    ids = (uuid.uuid4(), uuid.uuid4())
    for label, ws in zip("AB", ids, strict=True):
        async with owner.transaction():
            await owner.execute(
                "SELECT set_config('app.current_workspace_id', $1, true),"
                " set_config('app.current_organization_id', $2, true)",
                str(ws),
                str(org),
            )
            if label == "A":
                await owner.execute(
                    "INSERT INTO organizations (id, name, slug) VALUES ($1, 'Org', $2)",
                    org,
                    f"org-{org.hex[:8]}",
                )
            await owner.execute(
                "INSERT INTO workspaces (id, organization_id, name, region)"
                " VALUES ($1, $2, $3, 'eu-west')",
                ws,
                org,
                f"Workspace {label}",
            )
            await owner.execute(
                "INSERT INTO vehicles (workspace_id, vehicle_type, plate_number)"
                " VALUES ($1, 'van', $2)",
                ws,
                f"PLATE-{label}",
            )
    return ids


@pytest.mark.parametrize("setting", [None, "", "A"], ids=["unset", "empty", "workspace-A"])
async def test_app_role_sees_and_changes_nothing_of_another_workspace(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection, setting: str | None
) -> None:
    ws_a, ws_b = await _seed_two_workspaces(owner_conn)
    async with app_conn.transaction():
        if setting is not None:
            value = str(ws_a) if setting == "A" else ""
            await app_conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", value)
        visible = await app_conn.fetch("SELECT workspace_id FROM vehicles")
        assert {r["workspace_id"] for r in visible} <= ({ws_a} if setting == "A" else set())
        assert await app_conn.fetch("SELECT id FROM workspaces WHERE id = $1", ws_b) == []
        updated = await app_conn.execute(
            "UPDATE vehicles SET plate_number = 'HIJACKED' WHERE workspace_id = $1", ws_b
        )
        deleted = await app_conn.execute("DELETE FROM vehicles WHERE workspace_id = $1", ws_b)
        assert updated == "UPDATE 0" and deleted == "DELETE 0"
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            async with app_conn.transaction():
                await app_conn.execute(
                    "INSERT INTO vehicles (workspace_id, vehicle_type, plate_number)"
                    " VALUES ($1, 'van', 'INTRUDER')",
                    ws_b,
                )
        if setting == "A":
            # Moving an own row into B is refused by WITH CHECK.
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                async with app_conn.transaction():
                    await app_conn.execute("UPDATE vehicles SET workspace_id = $1", ws_b)

    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(ws_b)
        )
        plates = await owner_conn.fetch("SELECT plate_number FROM vehicles")
    assert [r["plate_number"] for r in plates] == ["PLATE-B"]


async def test_partition_queried_by_name_still_filters_by_workspace(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    ws_a, ws_b = await _seed_two_workspaces(owner_conn)
    for ws in (ws_a, ws_b):
        async with owner_conn.transaction():
            await owner_conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", str(ws)
            )
            await owner_conn.execute(
                "INSERT INTO live_vehicle_positions (vehicle_id, workspace_id, position)"
                " SELECT id, workspace_id, 'SRID=4326;POINT(-0.12 51.5)'::geography FROM vehicles"
            )
    partition = await owner_conn.fetchval(
        "SELECT 'live_vehicle_positions_p' || to_char(now() AT TIME ZONE 'UTC', 'YYYYMM')"
    )
    async with app_conn.transaction():
        await app_conn.execute("SELECT set_config('app.current_workspace_id', $1, true)", str(ws_a))
        rows = await app_conn.fetch(f"SELECT workspace_id FROM {partition}")
    assert [r["workspace_id"] for r in rows] == [ws_a]


async def test_login_lookup_is_the_only_cross_workspace_read(
    owner_conn: asyncpg.Connection, app_conn: asyncpg.Connection
) -> None:
    ws_a, ws_b = await _seed_two_workspaces(owner_conn)
    for ws in (ws_a, ws_b):
        async with owner_conn.transaction():
            await owner_conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", str(ws)
            )
            await owner_conn.execute(
                "INSERT INTO users (workspace_id, email, password_hash, full_name, role, status)"
                " VALUES ($1, 'ana@example.com', 'x', 'Ana', 'operator', 'active')",
                ws,
            )
    # Without a workspace the users table is empty to the app role...
    assert await app_conn.fetch("SELECT id FROM users") == []
    # ...and the login function returns exactly the login fields of that email's accounts.
    rows = await app_conn.fetch("SELECT * FROM auth_login_candidates('ANA@example.com')")
    assert {r["workspace_id"] for r in rows} == {ws_a, ws_b}
    assert await app_conn.fetch("SELECT * FROM auth_login_candidates('nobody@example.com')") == []
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await app_conn.execute("SET ROLE omniroute_auth")
