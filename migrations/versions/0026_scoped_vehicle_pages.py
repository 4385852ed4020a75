"""The vehicle lists as one statement each: the membership check, the tenant scope and the
page.

Like `auth_read_vehicle` (0025), each function calls auth_scope_member (0023: the user
still active in a live workspace with one of `roles`, else 28000 or 42501; then the
transaction scoped to that workspace), then reads as its caller (SECURITY INVOKER), so the
forced RLS policies apply under the scope just set. Sent on its own, a call is its own
transaction: one round trip where BEGIN, the check, the page and COMMIT took three.

- `auth_read_vehicle_page(user, workspace, roles, status, type, search, limit, offset)`:
  a page of live vehicles, oldest first, each row with the count of all that match. Past
  the last page it returns one row with no vehicle, to carry the count.
- `auth_read_vehicle_cursor(user, workspace, roles, status, type, search, after created,
  after id, limit, with total)`: a keyset page with each vehicle's driver and the
  driver's live user (a vehicle has at most one driver), and the count of all that match
  when asked (on every row, or on one row with no vehicle when the page is empty).

The filters are those of services.fleet.vehicle_reads (a NULL filter matches all; the
search an ILIKE pattern). The callers decode the composite columns with the column lists
of models.fleet_records, so the functions return whole rows, not a second copy of those
lists. Each statement keeps one generic plan for the session.

Revision ID: 0026
Revises: 0025
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The workspace condition repeats the RLS policy's so the planner can use the index on it.
_MATCHING = """{v}.workspace_id = p_workspace_id AND {v}.deleted_at IS NULL
        AND (p_status IS NULL OR {v}.status = p_status::public.vehicle_status)
        AND (p_vehicle_type IS NULL OR {v}.vehicle_type = p_vehicle_type)
        AND (p_search IS NULL OR {v}.plate_number ILIKE p_search)"""

READ_PAGE = f"""
CREATE FUNCTION auth_read_vehicle_page(
    p_user_id uuid, p_workspace_id uuid, p_roles text[],
    p_status text, p_vehicle_type text, p_search text, p_limit integer, p_offset bigint
)
RETURNS TABLE (vehicle public.vehicles, total bigint)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $fn$
BEGIN
    PERFORM public.auth_scope_member(p_user_id, p_workspace_id, p_roles);
    RETURN QUERY
        SELECT v, count(*) OVER () FROM public.vehicles v
        WHERE {_MATCHING.format(v="v")}
        ORDER BY v.created_at, v.id LIMIT p_limit OFFSET p_offset;
    IF NOT FOUND THEN
        RETURN QUERY
            SELECT NULL::public.vehicles, count(*) FROM public.vehicles v
            WHERE {_MATCHING.format(v="v")};
    END IF;
END
$fn$;
"""

READ_CURSOR = f"""
CREATE FUNCTION auth_read_vehicle_cursor(
    p_user_id uuid, p_workspace_id uuid, p_roles text[],
    p_status text, p_vehicle_type text, p_search text,
    p_after_created timestamptz, p_after_id uuid, p_limit integer, p_with_total boolean
)
RETURNS TABLE (
    vehicle public.vehicles, driver public.drivers, driver_user public.users, total bigint
)
LANGUAGE plpgsql VOLATILE SECURITY INVOKER
SET plan_cache_mode = force_generic_plan AS $fn$
DECLARE
    v_total bigint;
BEGIN
    PERFORM public.auth_scope_member(p_user_id, p_workspace_id, p_roles);
    IF p_with_total THEN
        SELECT count(*) INTO v_total FROM public.vehicles c WHERE {_MATCHING.format(v="c")};
    END IF;
    -- The page first, then the drivers and users of its vehicles only: joined before the
    -- limit, a generic plan reads every vehicle's driver and user.
    RETURN QUERY
        WITH page AS MATERIALIZED (
            SELECT v.* FROM public.vehicles v
            WHERE {_MATCHING.format(v="v")}
                -- One row comparison for the first page and the next: an index condition.
                AND (v.created_at, v.id) > (
                    COALESCE(p_after_created, '-infinity'),
                    COALESCE(p_after_id, '00000000-0000-0000-0000-000000000000')
                )
            ORDER BY v.created_at, v.id LIMIT p_limit
        )
        SELECT page::public.vehicles, d, u, v_total FROM page
        LEFT JOIN public.drivers d ON d.vehicle_id = page.id
        LEFT JOIN public.users u ON u.id = d.user_id AND u.deleted_at IS NULL
        ORDER BY page.created_at, page.id;
    IF NOT FOUND AND p_with_total THEN
        RETURN QUERY SELECT NULL::public.vehicles, NULL::public.drivers, NULL::public.users, v_total;
    END IF;
END
$fn$;
"""

FUNCTIONS = (
    "auth_read_vehicle_page(uuid, uuid, text[], text, text, text, integer, bigint)",
    "auth_read_vehicle_cursor(uuid, uuid, text[], text, text, text, timestamptz, uuid,"
    " integer, boolean)",
)


def upgrade() -> None:
    app = get_settings().db_app_role
    op.execute(READ_PAGE)
    op.execute(READ_CURSOR)
    for function in FUNCTIONS:
        op.execute(f"REVOKE ALL ON FUNCTION {function} FROM PUBLIC")
        op.execute(f"GRANT EXECUTE ON FUNCTION {function} TO {app}")


def downgrade() -> None:
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
