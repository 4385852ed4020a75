"""The membership check inside the request's own transaction.

A hot read opens its transaction with one simple query (BEGIN, then this function): it
confirms, as 0009's auth_active_members does, that the token's user is still active in a
live workspace, that the user's current role may perform the request's operation, and
scopes the transaction to that workspace and its organization. The check then costs no
round trip of its own, and it is as fresh as the read: a suspension, deletion or role
change committed before the transaction began is seen by it.

Refusals carry their own SQLSTATEs: 28000 (not an active member) and 42501 (the role may
not; the role in DETAIL).

Revision ID: 0023
Revises: 0020
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0023"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCOPED_CHECK = """
CREATE FUNCTION auth_scope_member(p_user_id uuid, p_workspace_id uuid, p_roles text[])
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    v_role text;
    v_organization uuid;
BEGIN
    SELECT u.role::text, w.organization_id INTO v_role, v_organization
    FROM public.users u JOIN public.workspaces w ON w.id = u.workspace_id
    WHERE u.id = p_user_id AND u.workspace_id = p_workspace_id
        AND u.status = 'active' AND u.deleted_at IS NULL AND w.deleted_at IS NULL;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'the account is not active' USING ERRCODE = '28000';
    END IF;
    IF NOT v_role = ANY (p_roles) THEN
        RAISE EXCEPTION 'the role may not' USING ERRCODE = '42501', DETAIL = v_role;
    END IF;
    PERFORM set_config('app.current_workspace_id', p_workspace_id::text, true);
    PERFORM set_config('app.current_organization_id', v_organization::text, true);
END
$fn$;
"""

FUNCTION = "auth_scope_member(uuid, uuid, text[])"


def upgrade() -> None:
    settings = get_settings()
    app, identity = settings.db_app_role, settings.db_auth_role
    op.execute(SCOPED_CHECK)
    # A new owner needs CREATE on the schema at the moment of the transfer only.
    op.execute(f"GRANT CREATE ON SCHEMA public TO {identity}")
    op.execute(f"ALTER FUNCTION {FUNCTION} OWNER TO {identity}")
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {app}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {identity}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {FUNCTION}")
