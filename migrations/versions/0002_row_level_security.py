"""Row-Level Security on every tenant table, and the application role's grants.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
CURRENT_ORGANIZATION = "nullif(current_setting('app.current_organization_id', true), '')::uuid"

# Tables carrying workspace_id (those scoped through a parent got their own copy in 0001).
TENANT_TABLES = (
    "users",
    "refresh_token_families",
    "refresh_tokens",
    "member_invitations",
    "vehicles",
    "drivers",
    "locations",
    "routes",
    "route_stops",
    "route_paths",
    "optimization_jobs",
    "quantum_jobs",
    "live_vehicle_positions",
    "incidents",
    "analytics_events",
    "audit_logs",
)
# The boundary tables themselves: a session sees its own workspace and organization only.
BOUNDARY_TABLES = {
    "workspaces": f"id = {CURRENT_WORKSPACE}",
    "organizations": f"id = {CURRENT_ORGANIZATION}",
}
# History is append-only for the application.
APPEND_ONLY = {"audit_logs", "analytics_events"}


def _protect(table: str, predicate: str) -> None:
    op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    op.execute(
        f"CREATE POLICY workspace_isolation ON {table} FOR ALL"
        f" USING ({predicate}) WITH CHECK ({predicate})"
    )


def upgrade() -> None:
    app = get_settings().db_app_role
    op.execute(f"GRANT USAGE ON SCHEMA public TO {app}")
    # The startup probe compares the applied revision with the code's head.
    op.execute(f"GRANT SELECT ON alembic_version TO {app}")
    for table in TENANT_TABLES:
        _protect(table, f"workspace_id = {CURRENT_WORKSPACE}")
    for table, predicate in BOUNDARY_TABLES.items():
        _protect(table, predicate)
    for table in (*TENANT_TABLES, *BOUNDARY_TABLES):
        privileges = "SELECT, INSERT" if table in APPEND_ONLY else "SELECT, INSERT, UPDATE, DELETE"
        op.execute(f"GRANT {privileges} ON {table} TO {app}")


def downgrade() -> None:
    app = get_settings().db_app_role
    for table in (*TENANT_TABLES, *BOUNDARY_TABLES):
        op.execute(f"REVOKE ALL ON {table} FROM {app}")
        op.execute(f"DROP POLICY IF EXISTS workspace_isolation ON {table}")
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    op.execute(f"REVOKE ALL ON alembic_version FROM {app}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {app}")
