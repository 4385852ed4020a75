"""The membership check keeps its plan.

`auth_active_members` (0009) was a SQL function with its own settings (SECURITY DEFINER,
search_path), which PostgreSQL never inlines: it parsed and planned its join on every call,
about 175 microseconds of the database's CPU for a check that then takes a few index
look-ups, on every authenticated request. The same query in PL/pgSQL keeps its plan for the
session. Same signature, owner, grants and answers.

Revision ID: 0030
Revises: 0029
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SIGNATURE = """
CREATE OR REPLACE FUNCTION auth_active_members(p_user_ids uuid[], p_workspace_ids uuid[])
RETURNS TABLE (user_id uuid, workspace_id uuid, role public.user_role, organization_id uuid)
"""
_QUERY = """
    SELECT u.id, u.workspace_id, u.role, w.organization_id
    FROM unnest(p_user_ids, p_workspace_ids) AS asked(user_id, workspace_id)
    JOIN public.users u ON u.id = asked.user_id AND u.workspace_id = asked.workspace_id
    JOIN public.workspaces w ON w.id = u.workspace_id
    WHERE u.status = 'active' AND u.deleted_at IS NULL AND w.deleted_at IS NULL
"""
# The output columns are also PL/pgSQL variables: the query's names are its tables' columns.
PLPGSQL = f"""{_SIGNATURE}
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
    RETURN QUERY {_QUERY};
END
$fn$;
"""
SQL = f"""{_SIGNATURE}
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
{_QUERY}
$fn$;
"""


def upgrade() -> None:
    # Replacing keeps the owner (0009's identity role) and the grants.
    op.execute(PLPGSQL)


def downgrade() -> None:
    op.execute(SQL)
