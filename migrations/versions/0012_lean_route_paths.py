"""A route's legs are written and read through their route.

A plan writes one row per leg (201 for a 200-stop route), on every optimization and every
cache hit. Two things maintained for each were never used:
- the foreign key from `workspace_id` to `workspaces`: a leg belongs to its workspace
  through its route, whose foreign key (cascading on delete) stays;
- `idx_route_paths_workspace`: every read of legs names the route (`idx_route_paths_route`),
  and the tenant policy's filter then holds for all of them; without statistics the planner
  even combined the two indexes, reading every leg of the workspace.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("idx_route_paths_workspace", table_name="route_paths")
    op.drop_constraint("route_paths_workspace_id_fkey", "route_paths", type_="foreignkey")


def downgrade() -> None:
    op.create_foreign_key(
        "route_paths_workspace_id_fkey",
        "route_paths",
        "workspaces",
        ["workspace_id"],
        ["id"],
        ondelete="CASCADE",
    )
    op.create_index("idx_route_paths_workspace", "route_paths", ["workspace_id"], unique=False)
