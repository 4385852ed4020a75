"""Monthly partitions for the two time series, with a default partition each.

`ensure_monthly_partitions(parent, months_ahead)` creates the partitions from the current
month through `months_ahead` months ahead, each with the parent's tenant policy and grants
(a partition queried by name must filter by workspace just like its parent). It runs as the
owner (SECURITY DEFINER), so the scheduled task can call it as the application role.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

from alembic import op

from core.settings import get_settings

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PARTITIONED = ("live_vehicle_positions", "analytics_events")
INITIAL_MONTHS_AHEAD = 3

PROTECT_PARTITION = """
CREATE FUNCTION omniroute_protect_partition(child text, privileges text)
RETURNS void LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $fn$
BEGIN
    EXECUTE format('ALTER TABLE public.%I ENABLE ROW LEVEL SECURITY', child);
    EXECUTE format('ALTER TABLE public.%I FORCE ROW LEVEL SECURITY', child);
    IF NOT EXISTS (
        SELECT 1 FROM pg_policies WHERE schemaname = 'public' AND tablename = child AND policyname = 'workspace_isolation'
    ) THEN
        EXECUTE format(
            'CREATE POLICY workspace_isolation ON public.%I FOR ALL'
            ' USING (workspace_id = nullif(current_setting(''app.current_workspace_id'', true), '''')::uuid)'
            ' WITH CHECK (workspace_id = nullif(current_setting(''app.current_workspace_id'', true), '''')::uuid)',
            child);
    END IF;
    EXECUTE format('GRANT %s ON public.%I TO {app}', privileges, child);
END
$fn$;
"""

ENSURE_PARTITIONS = """
CREATE FUNCTION ensure_monthly_partitions(parent text, months_ahead int DEFAULT 3)
RETURNS SETOF text LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
DECLARE
    month_start date;
    child text;
    privileges text;
BEGIN
    IF parent NOT IN ('live_vehicle_positions', 'analytics_events') THEN
        RAISE EXCEPTION 'not a partitioned time series: %', parent;
    END IF;
    IF months_ahead < 0 OR months_ahead > 24 THEN
        RAISE EXCEPTION 'months_ahead must be between 0 and 24';
    END IF;
    privileges := CASE parent WHEN 'analytics_events' THEN 'SELECT, INSERT'
                              ELSE 'SELECT, INSERT, UPDATE, DELETE' END;
    child := parent || '_default';
    IF to_regclass('public.' || quote_ident(child)) IS NULL THEN
        EXECUTE format('CREATE TABLE public.%I PARTITION OF public.%I DEFAULT', child, parent);
        PERFORM public.omniroute_protect_partition(child, privileges);
        RETURN NEXT child;
    END IF;
    FOR i IN 0..months_ahead LOOP
        month_start := (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => i))::date;
        child := parent || '_p' || to_char(month_start, 'YYYYMM');
        IF to_regclass('public.' || quote_ident(child)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE public.%I PARTITION OF public.%I FOR VALUES FROM (%L) TO (%L)',
                child, parent,
                to_char(month_start, 'YYYY-MM-DD') || ' 00:00:00+00',
                to_char(month_start + interval '1 month', 'YYYY-MM-DD') || ' 00:00:00+00');
            PERFORM public.omniroute_protect_partition(child, privileges);
            RETURN NEXT child;
        END IF;
    END LOOP;
END
$fn$;
"""


def upgrade() -> None:
    app = get_settings().db_app_role
    op.execute(PROTECT_PARTITION.replace("{app}", app))
    op.execute(ENSURE_PARTITIONS)
    op.execute("REVOKE ALL ON FUNCTION omniroute_protect_partition(text, text) FROM PUBLIC")
    op.execute("REVOKE ALL ON FUNCTION ensure_monthly_partitions(text, int) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION ensure_monthly_partitions(text, int) TO {app}")
    for parent in PARTITIONED:
        op.execute(f"SELECT ensure_monthly_partitions('{parent}', {INITIAL_MONTHS_AHEAD})")


def downgrade() -> None:
    bind = op.get_bind()
    for parent in PARTITIONED:
        children = bind.exec_driver_sql(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            f" WHERE i.inhparent = '{parent}'::regclass"
        ).scalars()
        for child in list(children):
            op.execute(f'DROP TABLE "{child}"')
    op.execute("DROP FUNCTION ensure_monthly_partitions(text, int)")
    op.execute("DROP FUNCTION omniroute_protect_partition(text, text)")
