"""The one-vehicle read for many requests in one statement.

`auth_read_vehicles(users, workspaces, roles, vehicles)` answers the reads of concurrent
requests together (core.member_batches): element i is request i's caller, workspace and
vehicle, and `roles` the roles that may read. Per element, in order, exactly as
`auth_read_vehicle` (0025) answers one request:

- the caller must be an active user of a live workspace (auth_active_members, 0009), else a
  row `refusal = 'inactive'`;
- with one of `roles`, else a row `refusal = 'role'` and the caller's `role`;
- then the transaction is scoped to that workspace and the live vehicle with that id is read
  as the function's caller (SECURITY INVOKER), so the forced RLS policies apply under that
  scope: a row with the vehicle, or none.

Consecutive elements of the same caller and workspace share the check and the scope, which
stays set until the next caller's: the check is as fresh as the read, being in the same
statement. The caller sends the elements grouped by caller, so a batch of one user's
requests checks the membership once. A refused caller's element leaves the scope empty, so
no read can run under an earlier caller's workspace.

Revision ID: 0029
Revises: 0028
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

READ_VEHICLES = """
CREATE FUNCTION auth_read_vehicles(
    p_user_ids uuid[], p_workspace_ids uuid[], p_roles text[], p_vehicle_ids uuid[]
)
RETURNS TABLE (ordinal integer, refusal text, role text, vehicle public.vehicles)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    v_user uuid;
    v_workspace uuid;
    v_role text;
    v_organization uuid;
    v_allowed boolean;
BEGIN
    IF cardinality(p_workspace_ids) IS DISTINCT FROM cardinality(p_user_ids)
        OR cardinality(p_vehicle_ids) IS DISTINCT FROM cardinality(p_user_ids) THEN
        RAISE EXCEPTION 'one user, workspace and vehicle per read' USING ERRCODE = '22023';
    END IF;
    FOR i IN 1 .. coalesce(cardinality(p_user_ids), 0) LOOP
        -- IS DISTINCT FROM: a NULL caller must never pass for the one before it.
        IF i = 1 OR p_user_ids[i] IS DISTINCT FROM v_user
            OR p_workspace_ids[i] IS DISTINCT FROM v_workspace THEN
            v_user := p_user_ids[i];
            v_workspace := p_workspace_ids[i];
            v_role := NULL;
            v_organization := NULL;
            SELECT m.role::text, m.organization_id INTO v_role, v_organization
            FROM public.auth_active_members(ARRAY[v_user], ARRAY[v_workspace]) m;
            v_allowed := coalesce(v_role = ANY (p_roles), false);
            IF v_allowed THEN
                PERFORM set_config('app.current_workspace_id', v_workspace::text, true);
                PERFORM set_config('app.current_organization_id', v_organization::text, true);
            ELSE
                PERFORM set_config('app.current_workspace_id', '', true);
                PERFORM set_config('app.current_organization_id', '', true);
            END IF;
        END IF;
        ordinal := i;
        vehicle := NULL;
        IF v_role IS NULL THEN
            refusal := 'inactive';
            role := NULL;
            RETURN NEXT;
        ELSIF NOT v_allowed THEN
            refusal := 'role';
            role := v_role;
            RETURN NEXT;
        ELSE
            RETURN QUERY
                SELECT i, NULL::text, NULL::text, v
                FROM public.vehicles v
                WHERE v.id = p_vehicle_ids[i] AND v.deleted_at IS NULL;
        END IF;
    END LOOP;
END
$fn$;
"""

FUNCTION = "auth_read_vehicles(uuid[], uuid[], text[], uuid[])"


def upgrade() -> None:
    app = get_settings().db_app_role
    op.execute(READ_VEHICLES)
    op.execute(f"REVOKE ALL ON FUNCTION {FUNCTION} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {FUNCTION} TO {app}")


def downgrade() -> None:
    op.execute(f"DROP FUNCTION {FUNCTION}")
