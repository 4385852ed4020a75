"""The narrow path for identity look-ups made before a workspace is known.

Login must find a person's accounts across workspaces, which the tenant policies forbid.
Instead of a BYPASSRLS role, two SECURITY DEFINER functions owned by a NOLOGIN identity
role return only what login and workspace switching need; that role may read `users` and
`workspaces` (a SELECT-only policy scoped to it) and nothing else.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LOGIN_CANDIDATES = """
CREATE FUNCTION auth_login_candidates(p_email text)
RETURNS TABLE (
    user_id uuid, workspace_id uuid, organization_id uuid, workspace_name text,
    password_hash text, role public.user_role, status public.user_status
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT u.id, u.workspace_id, w.organization_id, w.name, u.password_hash, u.role, u.status
    FROM public.users u JOIN public.workspaces w ON w.id = u.workspace_id
    WHERE u.email = lower(p_email) AND u.deleted_at IS NULL AND w.deleted_at IS NULL
    ORDER BY u.created_at, u.id
$fn$;
"""

MEMBER_WORKSPACES = """
CREATE FUNCTION auth_member_workspaces(p_email text, p_organization_id uuid)
RETURNS TABLE (
    workspace_id uuid, workspace_name text, region text, active_mode text,
    user_id uuid, role public.user_role, status public.user_status
)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT w.id, w.name, w.region, w.active_mode, u.id, u.role, u.status
    FROM public.users u JOIN public.workspaces w ON w.id = u.workspace_id
    WHERE u.email = lower(p_email) AND w.organization_id = p_organization_id
      AND u.deleted_at IS NULL AND w.deleted_at IS NULL
    ORDER BY w.created_at, w.id
$fn$;
"""

FUNCTIONS = ("auth_login_candidates(text)", "auth_member_workspaces(text, uuid)")


def upgrade() -> None:
    settings = get_settings()
    app, identity = settings.db_app_role, settings.db_auth_role
    for table in ("users", "workspaces"):
        op.execute(f"GRANT SELECT ON {table} TO {identity}")
        op.execute(
            f"CREATE POLICY identity_lookup ON {table} FOR SELECT TO {identity} USING (true)"
        )
    op.execute(LOGIN_CANDIDATES)
    op.execute(MEMBER_WORKSPACES)
    # A new owner needs CREATE on the schema at the moment of the transfer only.
    op.execute(f"GRANT CREATE ON SCHEMA public TO {identity}")
    for function in FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} OWNER TO {identity}")
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {app}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {identity}")


def downgrade() -> None:
    identity = get_settings().db_auth_role
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    for table in ("users", "workspaces"):
        op.execute(f"DROP POLICY identity_lookup ON {table}")
        op.execute(f"REVOKE SELECT ON {table} FROM {identity}")
