"""Analytics: the time optimization saves, and the fleet report's status time by day.

`analytics_optimizations` keeps the submitted order's duration (timed on the matrix the
solver used) and the previous plan's, beside their distances.

`analytics_vehicle_status_days` holds each vehicle's closed status intervals cut into UTC
days, in whole microseconds, kept by the fold as status facts arrive (in any order): the
fleet report reads whole days from it and cuts only the range's partial first and last day
from the facts. Filled here from the facts already folded, under the same forced tenant
policy as the other read models. Indexes: status facts by time (the partial days) and
deleted vehicles' facts (the vehicles the fleet report knows), and routes by vehicle and
deploy time (the fold credits each GPS stretch to the route its vehicle was driving).

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.settings import get_settings

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
STATUS_DAYS = "analytics_vehicle_status_days"
MICROS = ("in_transit_us", "available_us", "offline_us", "maintenance_us", "other_us")
# Every closed interval of every workspace's facts, cut into days (the fold's arithmetic).
BACKFILL = f"""
INSERT INTO {STATUS_DAYS} (workspace_id, vehicle_id, day, {", ".join(MICROS)})
SELECT workspace_id, vehicle_id, day,
    coalesce(sum(us) FILTER (WHERE status = 'in_transit'), 0),
    coalesce(sum(us) FILTER (WHERE status = 'available'), 0),
    coalesce(sum(us) FILTER (WHERE status = 'offline'), 0),
    coalesce(sum(us) FILTER (WHERE status = 'maintenance'), 0),
    coalesce(sum(us) FILTER (WHERE status NOT IN
        ('in_transit', 'available', 'offline', 'maintenance')), 0)
FROM (
    SELECT workspace_id, vehicle_id, status, d::date AS day,
        (extract(epoch FROM least(e, d + interval '1 day') - greatest(s, d)) * 1000000)::bigint
            AS us
    FROM (
        SELECT workspace_id, vehicle_id, status, at AT TIME ZONE 'UTC' AS s,
            lead(at) OVER (PARTITION BY workspace_id, vehicle_id ORDER BY at)
                AT TIME ZONE 'UTC' AS e
        FROM analytics_vehicle_status) AS intervals
    CROSS JOIN LATERAL generate_series(date_trunc('day', s), e, interval '1 day') AS d
    WHERE e IS NOT NULL) AS pieces
WHERE us <> 0
GROUP BY 1, 2, 3
"""


def upgrade() -> None:
    for column in ("submitted_duration_s", "previous_duration_s"):
        op.add_column("analytics_optimizations", sa.Column(column, sa.Float(), nullable=True))
    op.create_index(
        "idx_analytics_routes_vehicle",
        "analytics_routes",
        ["workspace_id", "vehicle_id", "deployed_at"],
    )
    op.create_index(
        "idx_analytics_vehicle_status_at", "analytics_vehicle_status", ["workspace_id", "at"]
    )
    op.create_index(
        "idx_analytics_vehicle_status_deleted",
        "analytics_vehicle_status",
        ["workspace_id", "vehicle_id"],
        postgresql_where=sa.text("status = 'deleted'"),
    )
    op.create_table(
        STATUS_DAYS,
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(c, sa.BigInteger(), server_default="0", nullable=False) for c in MICROS],
        sa.PrimaryKeyConstraint("workspace_id", "vehicle_id", "day"),
    )
    op.create_index(f"idx_{STATUS_DAYS}_day", STATUS_DAYS, ["workspace_id", "day"])
    # The facts of every workspace, read once by the owner with the policy lifted.
    op.execute("ALTER TABLE analytics_vehicle_status NO FORCE ROW LEVEL SECURITY")
    op.execute(BACKFILL)
    op.execute("ALTER TABLE analytics_vehicle_status FORCE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {STATUS_DAYS} ENABLE ROW LEVEL SECURITY")
    op.execute(f"ALTER TABLE {STATUS_DAYS} FORCE ROW LEVEL SECURITY")
    predicate = f"workspace_id = {CURRENT_WORKSPACE}"
    op.execute(
        f"CREATE POLICY workspace_isolation ON {STATUS_DAYS} FOR ALL"
        f" USING ({predicate}) WITH CHECK ({predicate})"
    )
    op.execute(
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON {STATUS_DAYS} TO {get_settings().db_app_role}"
    )


def downgrade() -> None:
    op.drop_table(STATUS_DAYS)
    op.drop_index("idx_analytics_vehicle_status_deleted", table_name="analytics_vehicle_status")
    op.drop_index("idx_analytics_vehicle_status_at", table_name="analytics_vehicle_status")
    op.drop_index("idx_analytics_routes_vehicle", table_name="analytics_routes")
    for column in ("previous_duration_s", "submitted_duration_s"):
        op.drop_column("analytics_optimizations", column)
