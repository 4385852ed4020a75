"""Fleet look-ups: one live vehicle per plate, trigram search on plates and names.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # pg_trgm is a trusted extension: the database owner may create it.
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "uq_vehicles_plate_live",
        "vehicles",
        ["workspace_id", "plate_number"],
        unique=True,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_vehicles_plate_trgm",
        "vehicles",
        ["plate_number"],
        postgresql_using="gin",
        postgresql_ops={"plate_number": "gin_trgm_ops"},
    )
    op.create_index(
        "idx_locations_name_trgm",
        "locations",
        ["name"],
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("idx_locations_name_trgm", table_name="locations")
    op.drop_index("idx_vehicles_plate_trgm", table_name="vehicles")
    op.drop_index("uq_vehicles_plate_live", table_name="vehicles")
    op.execute("DROP EXTENSION IF EXISTS pg_trgm")
