"""Positions keep the indexes that their reads use.

`idx_live_pos_workspace (workspace_id, recorded_at)` served no query: positions are read by
vehicle and time (the primary key), archived and dropped by whole partitions, and the
tenant policy filters what a vehicle's reads return. Every stored position still paid for
it, on the hottest write path of the service.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("idx_live_pos_workspace", table_name="live_vehicle_positions")


def downgrade() -> None:
    op.create_index(
        "idx_live_pos_workspace",
        "live_vehicle_positions",
        ["workspace_id", "recorded_at"],
        unique=False,
    )
