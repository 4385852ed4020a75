"""Query paths measured on 10 workspaces x 100,000 vehicles and locations (bench/spatial.py).

- First pages are ordered by (created_at, id) within a workspace: index that order.
- JIT compilation cost more than a second per query once a plan looked expensive, which on
  these short OLTP queries never pays off: off for this database.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LISTED = ("vehicles", "locations")


def _database() -> str:
    return str(op.get_bind().exec_driver_sql("SELECT current_database()").scalar())


def upgrade() -> None:
    for table in LISTED:
        op.create_index(
            f"idx_{table}_list",
            table,
            ["workspace_id", "created_at", "id"],
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
    op.execute(f'ALTER DATABASE "{_database()}" SET jit = off')


def downgrade() -> None:
    op.execute(f'ALTER DATABASE "{_database()}" RESET jit')
    for table in LISTED:
        op.drop_index(f"idx_{table}_list", table_name=table)
