"""One statement to check, for many requests at once, that their users may still act.

Every authenticated request confirms that the user still exists, is active, and that their
workspace still exists (a suspended user is refused at once, not when the token expires).
As a tenant-scoped transaction per request that is four round trips (begin, set the tenant,
select, commit); this SECURITY DEFINER function, owned by the NOLOGIN identity role like the
login look-ups of 0004, answers for all the requests waiting at that moment in one. It
returns only the role and organization of the users asked about, each in the workspace its
token names.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACCESS_CHECK = """
CREATE FUNCTION auth_active_members(p_user_ids uuid[], p_workspace_ids uuid[])
RETURNS TABLE (user_id uuid, workspace_id uuid, role public.user_role, organization_id uuid)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT u.id, u.workspace_id, u.role, w.organization_id
    FROM unnest(p_user_ids, p_workspace_ids) AS asked(user_id, workspace_id)
    JOIN public.users u ON u.id = asked.user_id AND u.workspace_id = asked.workspace_id
    JOIN public.workspaces w ON w.id = u.workspace_id
    WHERE u.status = 'active' AND u.deleted_at IS NULL AND w.deleted_at IS NULL
$fn$;
"""

FUNCTION = "auth_active_members(uuid[], uuid[])"


def upgrade() -> None:
    settings = get_settings()
    app, identity = settings.db_app_role, settings.db_auth_role
    op.execute(ACCESS_CHECK)
    # A new owner needs CREATE on the schema at the moment of the transfer only.
    op.execute(f"GRANT CREATE ON SCHEMA public TO {identity}")
    op.execute(f"ALTER FUNCTION {FUNCTION} OWNER TO {identity}")
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {app}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {identity}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {FUNCTION}")
