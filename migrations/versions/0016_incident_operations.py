"""Emergency operations: the incident timeline and SLA clock, the units sent to each
incident, and the index dispatch walks to find the closest free responders.

`idx_vehicles_dispatch` holds only live, available vehicles with a position, keyed by
workspace and type before the point (btree_gist), so the nearest-first walk for one type
of one workspace reads that type's entries only, however large the other fleets are;
`idx_vehicles_dispatch_types` lists the types present (a skip scan), so that no walk is
started for a type the workspace has no free vehicle of.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from core.settings import get_settings

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CURRENT_WORKSPACE = "nullif(current_setting('app.current_workspace_id', true), '')::uuid"
TIMESTAMPS = ("dispatched_at", "first_on_scene_at", "closed_at", "sla_deadline")


def upgrade() -> None:
    app = get_settings().db_app_role
    for name in TIMESTAMPS:
        op.add_column("incidents", sa.Column(name, sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "incidents",
        sa.Column("sla_state", sa.Text(), server_default="on_track", nullable=False),
    )
    op.add_column("incidents", sa.Column("response_time_s", sa.Integer(), nullable=True))
    op.add_column("incidents", sa.Column("travel_time_s", sa.Integer(), nullable=True))
    op.add_column("incidents", sa.Column("scene_location_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "incidents_scene_location_id_fkey", "incidents", "locations", ["scene_location_id"], ["id"]
    )
    op.create_check_constraint(
        "ck_incidents_sla_state",
        "incidents",
        "sla_state IN ('on_track', 'at_risk', 'breached', 'met')",
    )
    op.create_table(
        "incident_units",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("eta", sa.DateTime(timezone=True), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=True),
        sa.Column("on_scene_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cleared_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["incident_id"], ["incidents.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "uq_incident_units_active",
        "incident_units",
        ["vehicle_id"],
        unique=True,
        postgresql_where=sa.text("cleared_at IS NULL"),
    )
    op.create_index("idx_incident_units_incident", "incident_units", ["incident_id"])
    op.create_index("idx_incident_units_route", "incident_units", ["route_id"])
    op.execute("ALTER TABLE incident_units ENABLE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE incident_units FORCE ROW LEVEL SECURITY")
    op.execute(
        "CREATE POLICY workspace_isolation ON incident_units FOR ALL"
        f" USING (workspace_id = {CURRENT_WORKSPACE}) WITH CHECK (workspace_id = {CURRENT_WORKSPACE})"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON incident_units TO {app}")
    # btree_gist is a trusted extension: the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.execute(
        "CREATE INDEX idx_vehicles_dispatch ON vehicles"
        " USING gist (workspace_id, vehicle_type, last_location)"
        " WHERE deleted_at IS NULL AND status = 'available' AND last_location IS NOT NULL"
    )
    op.create_index(
        "idx_vehicles_dispatch_types",
        "vehicles",
        ["workspace_id", "vehicle_type"],
        postgresql_where=sa.text(
            "deleted_at IS NULL AND status = 'available' AND last_location IS NOT NULL"
        ),
    )


def downgrade() -> None:
    op.drop_index("idx_vehicles_dispatch_types", table_name="vehicles")
    op.execute("DROP INDEX idx_vehicles_dispatch")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
    op.drop_index("idx_incident_units_route", table_name="incident_units")
    op.drop_index("idx_incident_units_incident", table_name="incident_units")
    op.drop_index("uq_incident_units_active", table_name="incident_units")
    op.drop_table("incident_units")
    op.drop_constraint("ck_incidents_sla_state", "incidents", type_="check")
    op.drop_constraint("incidents_scene_location_id_fkey", "incidents", type_="foreignkey")
    for name in ("scene_location_id", "travel_time_s", "response_time_s", "sla_state"):
        op.drop_column("incidents", name)
    for name in reversed(TIMESTAMPS):
        op.drop_column("incidents", name)
