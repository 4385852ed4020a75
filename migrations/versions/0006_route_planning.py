"""Route planning inputs: depot and start time of a route, stop time windows, job progress.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("routes", sa.Column("depot_location_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "routes_depot_location_id_fkey", "routes", "locations", ["depot_location_id"], ["id"]
    )
    op.add_column("routes", sa.Column("planned_start", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "route_stops", sa.Column("time_window_start", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "route_stops", sa.Column("time_window_end", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("optimization_jobs", sa.Column("requested_by", sa.Uuid(), nullable=True))
    op.add_column(
        "optimization_jobs",
        sa.Column("progress", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    )


def downgrade() -> None:
    op.drop_column("optimization_jobs", "progress")
    op.drop_column("optimization_jobs", "requested_by")
    op.drop_column("route_stops", "time_window_end")
    op.drop_column("route_stops", "time_window_start")
    op.drop_column("routes", "planned_start")
    op.drop_constraint("routes_depot_location_id_fkey", "routes", type_="foreignkey")
    op.drop_column("routes", "depot_location_id")
