"""Analytics: the fleet report's per-day read models.

`analytics_fleet_days` holds one row per workspace and UTC day: the sums of the day's rows
in `analytics_vehicle_status_days` (closed status time) and `analytics_vehicle_days` (GPS
distance), how many vehicles have either, how many of those were in transit or moved, and
how many moved. `analytics_vehicle_spans` holds, per vehicle the models know, the days it
has status time, time in transit and distance, as date multiranges, and its newest status
fact (unlike `analytics_vehicle_state`, it is not rewritten by every GPS batch). The fold
keeps both from the per-vehicle rows and facts it changes; the fleet report by day or week
reads a row a day and a row a vehicle instead of a row per vehicle and day.

Filled here from the per-vehicle rows and facts already folded (read by the owner with the
policy lifted), under the same forced tenant policy as the other read models; the rebuild
command fills them the same way.

Revision ID: 0028
Revises: 0027
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import DATEMULTIRANGE

from core.settings import get_settings

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
FLEET_DAYS = "analytics_fleet_days"
SPANS = "analytics_vehicle_spans"
SOURCES = (
    "analytics_vehicle_status_days",
    "analytics_vehicle_days",
    "analytics_vehicle_status",
    "analytics_vehicle_state",
)
MICROS = ("in_transit_us", "available_us", "offline_us", "maintenance_us")
# Each vehicle's day: its status time and its distance, one row.
VEHICLE_DAYS = """
    per AS (
        SELECT workspace_id, vehicle_id, day, sum(in_transit_us) AS in_transit_us,
            sum(available_us) AS available_us, sum(offline_us) AS offline_us,
            sum(maintenance_us) AS maintenance_us, sum(distance_m) AS distance_m,
            bool_or(has_status) AS has_status
        FROM (
            SELECT workspace_id, vehicle_id, day, in_transit_us, available_us, offline_us,
                maintenance_us, 0::float8 AS distance_m, true AS has_status
            FROM analytics_vehicle_status_days
            UNION ALL
            SELECT workspace_id, vehicle_id, day, 0, 0, 0, 0, distance_m, false
            FROM analytics_vehicle_days) AS vehicle_rows
        GROUP BY workspace_id, vehicle_id, day)"""
# The fold's figures (services/analytics/fleet_days.py), distance summed in vehicle order.
BACKFILL_DAYS = f"""
WITH {VEHICLE_DAYS}
INSERT INTO {FLEET_DAYS} (workspace_id, day, {", ".join(MICROS)}, distance_m, vehicles,
    active_vehicles, moved_vehicles)
SELECT workspace_id, day, sum(in_transit_us), sum(available_us), sum(offline_us),
    sum(maintenance_us), sum(distance_m ORDER BY vehicle_id), count(*),
    count(*) FILTER (WHERE in_transit_us > 0 OR distance_m > 0),
    count(*) FILTER (WHERE distance_m > 0)
FROM per GROUP BY workspace_id, day
"""
DAY = "daterange(day, day, '[]')"
BACKFILL_SPANS = f"""
WITH {VEHICLE_DAYS},
sets AS (
    SELECT workspace_id, vehicle_id,
        range_agg({DAY}) FILTER (WHERE has_status) AS status_days,
        range_agg({DAY}) FILTER (WHERE in_transit_us > 0) AS transit_days,
        range_agg({DAY}) FILTER (WHERE distance_m > 0) AS moved_days
    FROM per GROUP BY workspace_id, vehicle_id),
last AS (
    SELECT DISTINCT ON (workspace_id, vehicle_id) workspace_id, vehicle_id, status, at
    FROM analytics_vehicle_status ORDER BY workspace_id, vehicle_id, at DESC)
INSERT INTO {SPANS} (workspace_id, vehicle_id, status_days, transit_days, moved_days,
    last_status, last_status_at)
SELECT workspace_id, vehicle_id, coalesce(status_days, '{{}}'), coalesce(transit_days, '{{}}'),
    coalesce(moved_days, '{{}}'), status, at
FROM analytics_vehicle_state LEFT JOIN sets USING (workspace_id, vehicle_id)
    LEFT JOIN last USING (workspace_id, vehicle_id)
"""


def _days(name: str) -> sa.Column:
    return sa.Column(name, DATEMULTIRANGE(), server_default="{}", nullable=False)


def upgrade() -> None:
    op.create_table(
        FLEET_DAYS,
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        *[sa.Column(c, sa.BigInteger(), server_default="0", nullable=False) for c in MICROS],
        sa.Column("distance_m", sa.Float(), server_default="0", nullable=False),
        sa.Column("vehicles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("active_vehicles", sa.Integer(), server_default="0", nullable=False),
        sa.Column("moved_vehicles", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "day"),
    )
    op.create_table(
        SPANS,
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_id", sa.Uuid(), nullable=False),
        _days("status_days"),
        _days("transit_days"),
        _days("moved_days"),
        sa.Column("last_status", sa.Text(), nullable=True),
        sa.Column("last_status_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("workspace_id", "vehicle_id"),
    )
    for table in SOURCES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    op.execute(BACKFILL_DAYS)
    op.execute(BACKFILL_SPANS)
    for table in SOURCES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
    predicate = f"workspace_id = {CURRENT_WORKSPACE}"
    app = get_settings().db_app_role
    for table in (FLEET_DAYS, SPANS):
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        op.execute(
            f"CREATE POLICY workspace_isolation ON {table} FOR ALL"
            f" USING ({predicate}) WITH CHECK ({predicate})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {app}")


def downgrade() -> None:
    op.drop_table(SPANS)
    op.drop_table(FLEET_DAYS)
