"""Live tracking: route deviations, and the owner's read access for retention.

Retention (export, then drop old partitions) runs as the owner, which is subject to the
forced tenant policies like everyone else; a SELECT-only policy for the owner on the two
time series lets it read every workspace's rows there. The owner could disable RLS on its
own tables anyway, so this grants no new power, and the application role gets nothing.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import geoalchemy2
import sqlalchemy as sa
from alembic import op

from core.settings import get_settings

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
TIME_SERIES = ("live_vehicle_positions", "analytics_events")

DEFAULT_PARTITION_ROWS = """
CREATE FUNCTION default_partition_rows()
RETURNS TABLE (parent text, row_count bigint)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT 'live_vehicle_positions', count(*) FROM public.live_vehicle_positions
        WHERE tableoid = 'public.live_vehicle_positions_default'::regclass
    UNION ALL
    SELECT 'analytics_events', count(*) FROM public.analytics_events
        WHERE tableoid = 'public.analytics_events_default'::regclass
$fn$;
"""


def upgrade() -> None:
    app = get_settings().db_app_role
    op.create_table(
        "route_deviations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("max_distance_m", sa.Float(), nullable=False),
        sa.Column(
            "position",
            geoalchemy2.types.Geography(
                geometry_type="POINT",
                srid=4326,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_route_deviations_active",
        "route_deviations",
        ["vehicle_id"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index(
        "idx_route_deviations_workspace",
        "route_deviations",
        ["workspace_id", sa.literal_column("started_at DESC")],
    )
    op.execute("ALTER TABLE route_deviations ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE route_deviations FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY workspace_isolation ON route_deviations FOR ALL"
        f" USING (workspace_id = {CURRENT_WORKSPACE}) WITH CHECK (workspace_id = {CURRENT_WORKSPACE})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON route_deviations TO {app}")
    for parent in TIME_SERIES:
        op.execute(
            f"CREATE POLICY retention_read ON {parent} FOR SELECT TO CURRENT_USER USING (true)"
        )
    op.execute(DEFAULT_PARTITION_ROWS)
    op.execute("REVOKE ALL ON FUNCTION default_partition_rows() FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION default_partition_rows() TO {app}")


def downgrade() -> None:
    op.execute("DROP FUNCTION default_partition_rows()")
    for parent in TIME_SERIES:
        op.execute(f"DROP POLICY retention_read ON {parent}")
    op.drop_index("idx_route_deviations_workspace", table_name="route_deviations")
    op.drop_index("uq_route_deviations_active", table_name="route_deviations")
    op.drop_table("route_deviations")
