"""Optimization jobs carry a claim count and a lease, so that a job whose worker vanished is
taken over by the next delivery, and only the latest claim may save a result.

Revision ID: 0019
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "optimization_jobs",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("optimization_jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("optimization_jobs", "lease_expires_at")
    op.drop_column("optimization_jobs", "attempts")
