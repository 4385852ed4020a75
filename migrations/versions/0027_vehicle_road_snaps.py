"""Each vehicle's position as snapped to the road network where the position was written,
so that dispatch ranks units by road time in one statement instead of snapping each
position in Python.

- `snap_version`: the network version the snap was made on (another version's is unusable);
- `snap_mask`: the vehicle-types mask of the roads it may snap to (solvers.roads);
- `snap_edge`, `snap_fraction`, `snap_offset_m`: the edge, the fraction along it from its
  source and the straight distance from the position to it;
- `snap_lng`, `snap_lat`: the position it was made for; a snap whose position is not the
  vehicle's `last_location` any more (moved by another path) is unusable, so no writer of
  positions has to clear it.

The columns are on `vehicles`, under its row-level security. The index serves dispatch's
read of the free units on the pieces of road near a scene;
the partial index finds the free units with no snap of their own.

Revision ID: 0027
Revises: 0026
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As models.fleet.UNSNAPPED when written (a migration keeps its own copy: the model may
# change after it).
_UNSNAPPED = (
    "deleted_at IS NULL AND status = 'available'::vehicle_status"
    " AND last_location IS NOT NULL AND (snap_edge IS NULL"
    " OR snap_lng IS DISTINCT FROM st_x(last_location::geometry)"
    " OR snap_lat IS DISTINCT FROM st_y(last_location::geometry))"
)
_COLUMNS = (
    ("snap_version", sa.Integer()),
    ("snap_mask", sa.SmallInteger()),
    ("snap_edge", sa.Integer()),
    ("snap_fraction", sa.Float()),
    ("snap_offset_m", sa.Float()),
    ("snap_lng", sa.Float()),
    ("snap_lat", sa.Float()),
)


def upgrade() -> None:
    for name, kind in _COLUMNS:
        op.add_column("vehicles", sa.Column(name, kind, nullable=True))
    op.create_index(
        "idx_vehicles_snap",
        "vehicles",
        ["workspace_id", "snap_version", "snap_mask", "snap_edge", "vehicle_type"],
        postgresql_where=sa.text(
            "deleted_at IS NULL AND status = 'available'::vehicle_status AND snap_edge IS NOT NULL"
        ),
    )
    op.create_index(
        "idx_vehicles_unsnapped",
        "vehicles",
        ["workspace_id"],
        postgresql_where=sa.text(_UNSNAPPED),
    )


def downgrade() -> None:
    op.drop_index("idx_vehicles_unsnapped", table_name="vehicles")
    op.drop_index("idx_vehicles_snap", table_name="vehicles")
    for name, _ in reversed(_COLUMNS):
        op.drop_column("vehicles", name)
