"""Analytics read models: per-workspace facts folded from the event stream.

Summary tables under the same forced tenant policy as every tenant table; the application
role may read and write its own workspace's rows only (the consumer folds, the rebuild
command empties and refills them, so it may also empty `event_topic_counts`).

Revision ID: 0020
Revises: 0019
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.settings import get_settings

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
TABLES = (
    "analytics_routes",
    "analytics_optimizations",
    "analytics_vehicle_state",
    "analytics_vehicle_status",
    "analytics_vehicle_days",
    "analytics_incidents",
    "analytics_quantum_jobs",
)
WORKSPACE_IDS_FN = "analytics_workspace_ids()"
WORKSPACE_IDS = """
CREATE FUNCTION analytics_workspace_ids() RETURNS SETOF uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
    SELECT id FROM public.workspaces WHERE deleted_at IS NULL ORDER BY id
$fn$;
"""


def _key(name: str) -> sa.Column:
    return sa.Column(name, sa.Uuid(), nullable=False)


def _uuid(name: str) -> sa.Column:
    return sa.Column(name, sa.Uuid(), nullable=True)


def _float(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), nullable=True)


def _int(name: str) -> sa.Column:
    return sa.Column(name, sa.Integer(), nullable=True)


def _zero(name: str) -> sa.Column:
    return sa.Column(name, sa.Float(), server_default="0", nullable=False)


def _text(name: str, *, nullable: bool = True) -> sa.Column:
    return sa.Column(name, sa.Text(), nullable=nullable)


def _flag(name: str) -> sa.Column:
    return sa.Column(name, sa.Boolean(), server_default=sa.false(), nullable=False)


def _at(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _day() -> sa.Column:
    return sa.Column("day", sa.Date(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "analytics_routes",
        _key("workspace_id"),
        _key("route_id"),
        _day(),
        _uuid("vehicle_id"),
        _text("status", nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        _at("deployed_at"),
        _at("completed_at"),
        _float("planned_distance_m"),
        _float("planned_duration_s"),
        _zero("actual_distance_m"),
        _float("actual_duration_s"),
        _int("stops"),
        _int("stops_served"),
        _int("stops_on_time"),
        sa.Column("deviations", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "route_id"),
    )
    op.create_table(
        "analytics_optimizations",
        _key("workspace_id"),
        _key("event_id"),
        _day(),
        _uuid("route_id"),
        _text("solver", nullable=False),
        _float("distance_m"),
        _float("duration_s"),
        _float("submitted_distance_m"),
        _float("previous_distance_m"),
        _float("optimization_score"),
        _float("solve_time_ms"),
        _flag("cached"),
        sa.PrimaryKeyConstraint("workspace_id", "event_id"),
    )
    op.create_table(
        "analytics_vehicle_state",
        _key("workspace_id"),
        _key("vehicle_id"),
        _text("vehicle_type"),
        _float("last_lng"),
        _float("last_lat"),
        _at("last_fix_at"),
        sa.PrimaryKeyConstraint("workspace_id", "vehicle_id"),
    )
    op.create_table(
        "analytics_vehicle_status",
        _key("workspace_id"),
        _key("vehicle_id"),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        _text("status", nullable=False),
        sa.PrimaryKeyConstraint("workspace_id", "vehicle_id", "at"),
    )
    op.create_table(
        "analytics_vehicle_days",
        _key("workspace_id"),
        _key("vehicle_id"),
        _day(),
        _zero("distance_m"),
        sa.PrimaryKeyConstraint("workspace_id", "vehicle_id", "day"),
    )
    op.create_table(
        "analytics_incidents",
        _key("workspace_id"),
        _key("incident_id"),
        _day(),
        _uuid("vehicle_id"),
        _float("response_time_s"),
        _float("travel_time_s"),
        sa.PrimaryKeyConstraint("workspace_id", "incident_id"),
    )
    op.create_table(
        "analytics_quantum_jobs",
        _key("workspace_id"),
        _key("job_id"),
        _day(),
        _text("mode"),
        _text("backend"),
        _text("status", nullable=False),
        _text("outcome"),
        _int("circuits"),
        _int("qubits"),
        _int("depth"),
        _float("energy"),
        _float("classical_cost"),
        _float("final_cost"),
        _float("gap_to_exact"),
        _flag("fell_back"),
        _flag("timed_out"),
        _float("time_ms"),
        sa.PrimaryKeyConstraint("workspace_id", "job_id"),
    )
    for table in ("analytics_routes", "analytics_optimizations", "analytics_vehicle_days"):
        op.create_index(f"idx_{table}_day", table, ["workspace_id", "day"])
    op.create_index("idx_analytics_incidents_day", "analytics_incidents", ["workspace_id", "day"])
    op.create_index(
        "idx_analytics_quantum_jobs_day", "analytics_quantum_jobs", ["workspace_id", "day"]
    )
    app = get_settings().db_app_role
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        predicate = f"workspace_id = {CURRENT_WORKSPACE}"
        op.execute(
            f"CREATE POLICY workspace_isolation ON {table} FOR ALL"
            f" USING ({predicate}) WITH CHECK ({predicate})"
        )
        op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {app}")
    op.execute(f"GRANT DELETE ON event_topic_counts TO {app}")
    # The rebuild command's list of workspaces, through the identity role's look-up policy
    # (as the login look-ups of 0004): the application role sees one tenant at a time.
    identity = get_settings().db_auth_role
    op.execute(WORKSPACE_IDS)
    op.execute(f"GRANT CREATE ON SCHEMA public TO {identity}")
    op.execute(f"ALTER FUNCTION {WORKSPACE_IDS_FN} OWNER TO {identity}")
    op.execute(f"REVOKE CREATE ON SCHEMA public FROM {identity}")
    op.execute(f"REVOKE ALL ON FUNCTION {WORKSPACE_IDS_FN} FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {WORKSPACE_IDS_FN} TO {app}")


def downgrade() -> None:
    app = get_settings().db_app_role
    op.execute(f"DROP FUNCTION {WORKSPACE_IDS_FN}")
    op.execute(f"REVOKE DELETE ON event_topic_counts FROM {app}")
    for table in reversed(TABLES):
        op.drop_table(table)
