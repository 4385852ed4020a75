"""A route's stops keep one index for their route: the unique constraint's.

Applying a plan rewrites the stop order of every stop of the route (200 rows for a 200-stop
route, on every optimization and cache hit), and each rewritten row goes into every index
again. `unique_stop_order (route_id, stop_order)` already answers every look-up by route,
which is how stops are read; `idx_route_stops_route (route_id)` repeated it, and
`idx_route_stops_workspace` served no query (the tenant policy filters stops read by route).

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("idx_route_stops_workspace", table_name="route_stops")
    op.drop_index("idx_route_stops_route", table_name="route_stops")


def downgrade() -> None:
    op.create_index("idx_route_stops_route", "route_stops", ["route_id"], unique=False)
    op.create_index("idx_route_stops_workspace", "route_stops", ["workspace_id"], unique=False)
