"""The one-vehicle read as one statement: its membership check, tenant scope and read.

`auth_read_vehicle(user, workspace, roles, vehicle)` calls auth_scope_member (0023: the
user still active in a live workspace with one of `roles`, else 28000 or 42501; then the
transaction scoped to that workspace) and returns the live vehicle with that id as the
caller may see it. It runs as its caller (SECURITY INVOKER): the forced RLS policies apply
to the read, under the scope just set, which lasts as long as the transaction. A statement
sent on its own is its own transaction: one round trip for the whole read, its check as
fresh as the read. Its statements (a look-up by primary key, the membership's two-key join)
keep one generic plan each for the session instead of being planned on every call.

Revision ID: 0025
Revises: 0024
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READ_VEHICLE = """
CREATE FUNCTION auth_read_vehicle(
    p_user_id uuid, p_workspace_id uuid, p_roles text[], p_vehicle_id uuid
)
RETURNS SETOF public.vehicles
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    PERFORM public.auth_scope_member(p_user_id, p_workspace_id, p_roles);
    RETURN QUERY
        SELECT * FROM public.vehicles v WHERE v.id = p_vehicle_id AND v.deleted_at IS NULL;
END
$fn$;
"""

FUNCTION = "auth_read_vehicle(uuid, uuid, text[], uuid)"


def upgrade() -> None:
    app = get_settings().db_app_role
    op.execute(READ_VEHICLE)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {app}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {FUNCTION}")
