"""A route's stop order is unique when each statement ends, not at every row.

Applying a plan permutes the stop orders of a route. With the constraint checked row by row
that took two statements (first moving every stop out of the way, then writing the new
order), and the second made PostgreSQL re-check every foreign key of rows the first had
rewritten in the same transaction. DEFERRABLE INITIALLY IMMEDIATE still checks at the end of
every statement, so one UPDATE writes the whole new order.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_constraint("unique_stop_order", "route_stops", type_="unique")
    op.create_unique_constraint(
        "unique_stop_order",
        "route_stops",
        ["route_id", "stop_order"],
        deferrable=True,
        initially="IMMEDIATE",
    )


def downgrade() -> None:
    op.drop_constraint("unique_stop_order", "route_stops", type_="unique")
    op.create_unique_constraint("unique_stop_order", "route_stops", ["route_id", "stop_order"])
