"""Analytics: the time optimization saves.

`analytics_optimizations` keeps the submitted order's duration (timed on the matrix the
solver used) and the previous plan's, beside their distances.

Revision ID: 0024
Revises: 0023
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for column in ("submitted_duration_s", "previous_duration_s"):
        op.add_column("analytics_optimizations", sa.Column(column, sa.Float(), nullable=True))


def downgrade() -> None:
    for column in ("previous_duration_s", "submitted_duration_s"):
        op.drop_column("analytics_optimizations", column)
