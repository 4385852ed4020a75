"""Job leases, and personal data encrypted at rest.

Optimization jobs carry a claim count and a lease, so that a job whose worker vanished is
taken over by the next delivery, and only the latest claim may save a result.

Drivers' phone and licence number, users' full name and locations' contact details are
encrypted by the application (core.crypto); `locations.contact_info` becomes text to hold
the ciphertext, and drivers get the licence number's keyed hash for equality look-ups. Rows
already stored are encrypted here, with the keys of the settings the migration runs under
(and decrypted again by a downgrade). Forced row-level security is lifted from each table
only for the rewrite, inside this migration's transaction.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from alembic import op

from core.crypto import FieldCipher
from core.settings import get_settings

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIELDS = {
    "users": ("full_name",),
    "drivers": ("phone", "license_number"),
    "locations": ("contact_info",),
}


def _rewrite(table: str, change: Callable[[FieldCipher, str, str], str | None]) -> None:
    """Apply `change(cipher, column, stored)` to every non-null value of the table's fields."""
    cipher = get_settings().pii_cipher()
    conn = op.get_bind()
    op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    columns = _FIELDS[table]
    rows = conn.execute(sa.text(f"SELECT id, {', '.join(columns)} FROM {table}")).all()
    for row in rows:
        values = {
            c: change(cipher, f"{table}.{c}", v)
            for c, v in zip(columns, row[1:], strict=True)
            if v is not None
        }
        if table == "drivers" and values.get("license_number") is not None:
            plain = cipher.decrypt(values["license_number"], context="drivers.license_number")
            values["license_number_index"] = cipher.blind_index(
                plain, context="drivers.license_number"
            )
        if values:
            sets = ", ".join(f"{c} = :{c}" for c in values)
            conn.execute(
                sa.text(f"UPDATE {table} SET {sets} WHERE id = :id"), {**values, "id": row[0]}
            )
    op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def _encrypt(cipher: FieldCipher, context: str, stored: str) -> str:
    return stored if stored.startswith("enc:") else cipher.encrypt(stored, context=context)


def _decrypt(cipher: FieldCipher, context: str, stored: str) -> str:
    return cipher.decrypt(stored, context=context)


def upgrade() -> None:
    op.add_column(
        "optimization_jobs",
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
    )
    op.add_column("optimization_jobs", sa.Column("lease_expires_at", sa.DateTime(timezone=True)))

    op.execute("ALTER TABLE locations ALTER COLUMN contact_info DROP DEFAULT")
    op.execute("ALTER TABLE locations ALTER COLUMN contact_info TYPE text USING contact_info::text")
    op.add_column("drivers", sa.Column("license_number_index", sa.Text()))
    op.create_index(
        "idx_drivers_license_index", "drivers", ["workspace_id", "license_number_index"]
    )
    for table in _FIELDS:
        _rewrite(table, _encrypt)


def downgrade() -> None:
    for table in _FIELDS:
        _rewrite(table, _decrypt)
    op.drop_index("idx_drivers_license_index", table_name="drivers")
    op.drop_column("drivers", "license_number_index")
    op.execute(
        "ALTER TABLE locations ALTER COLUMN contact_info TYPE jsonb USING contact_info::jsonb"
    )
    op.execute("ALTER TABLE locations ALTER COLUMN contact_info SET DEFAULT '{}'::jsonb")

    op.drop_column("optimization_jobs", "lease_expires_at")
    op.drop_column("optimization_jobs", "attempts")
