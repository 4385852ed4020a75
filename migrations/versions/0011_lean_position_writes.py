"""Two fewer things to maintain for every stored position.

- `idx_live_pos_vehicle (vehicle_id, recorded_at DESC)` repeated the primary key's index on
  (vehicle_id, recorded_at), which PostgreSQL scans backwards just as well for the newest
  positions of a vehicle.
- The foreign key from `workspace_id` to `workspaces` ran a lookup for every row. A position
  reaches its workspace through its vehicle, whose own foreign key (cascading on delete, as
  vehicles do from their workspace) stays, and the writer stores positions only for vehicles
  that the tenant policy shows it in that workspace.

Measured on batches of 5,000 rows: about a quarter less time per insert.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("idx_live_pos_vehicle", table_name="live_vehicle_positions")
    op.drop_constraint(
        "live_vehicle_positions_workspace_id_fkey", "live_vehicle_positions", type_="foreignkey"
    )


def downgrade() -> None:
    op.create_foreign_key(
        "live_vehicle_positions_workspace_id_fkey",
        "live_vehicle_positions",
        "workspaces",
        ["workspace_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index(
        "idx_live_pos_vehicle",
        "live_vehicle_positions",
        ["vehicle_id", sa.literal_column("recorded_at DESC")],
        unique=False,
    )
