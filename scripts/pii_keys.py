"""Personal-data keys: `python scripts/pii_keys.py new-key ID` prints a fresh key entry;
`python scripts/pii_keys.py rotate` re-encrypts every personal value under the active key
(values of older keys, and any stored before encryption), in small batches while the
service runs. Rotating: add the new key to PII_KEYS (or the secret file) and make it active
(PII_ACTIVE_KEY_ID, or list it last) everywhere, run `rotate`, then remove the old key.

Runs as the schema owner (DATABASE_URL). Each batch lifts forced row-level security from its
table inside its own short transaction, so the API sees every row as before throughout.
"""

from __future__ import annotations

import asyncio
import base64
import os
import sys
import uuid

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, os.getcwd())

from core.crypto import FieldCipher
from core.settings import get_settings

FIELDS = {
    "users": ("full_name",),
    "drivers": ("phone", "license_number"),
    "locations": ("contact_info",),
}
BATCH = 500


def _stale(cipher: FieldCipher, stored: str | None) -> bool:
    return stored is not None and cipher.key_id_of(stored) != cipher.active


async def rotate_table(conn: asyncpg.Connection, cipher: FieldCipher, table: str) -> int:
    columns = FIELDS[table]
    done, after = 0, uuid.UUID(int=0)
    while True:
        async with conn.transaction():
            await conn.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
            rows = await conn.fetch(
                f"SELECT id, {', '.join(columns)} FROM {table} WHERE id > $1 ORDER BY id"  # noqa: S608 - names from FIELDS
                f" LIMIT {BATCH} FOR UPDATE",
                after,
            )
            for row in rows:
                plain = {
                    c: cipher.decrypt(row[c], context=f"{table}.{c}")
                    for c in columns
                    if _stale(cipher, row[c])
                }
                values = {c: cipher.encrypt(v, context=f"{table}.{c}") for c, v in plain.items()}
                if "license_number" in plain and table == "drivers":
                    # A value stored before encryption may have had no index yet; the index
                    # key itself does not rotate, so a current value's index stands.
                    values["license_number_index"] = cipher.blind_index(
                        plain["license_number"], context="drivers.license_number"
                    )
                if values:
                    sets = ", ".join(f"{c} = ${i + 2}" for i, c in enumerate(values))
                    await conn.execute(
                        f"UPDATE {table} SET {sets} WHERE id = $1",  # noqa: S608 - names from FIELDS
                        row["id"],
                        *values.values(),
                    )
                    done += 1
            await conn.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")
        if len(rows) < BATCH:
            return done
        after = rows[-1]["id"]


async def rotate() -> dict[str, int]:
    settings = get_settings()
    cipher = settings.pii_cipher()
    dsn = make_url(settings.database_url).set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        return {table: await rotate_table(conn, cipher, table) for table in FIELDS}
    finally:
        await conn.close()


def main() -> int:
    match sys.argv[1:]:
        case ["new-key", key_id] if key_id.isidentifier():
            print(f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}")
        case ["new-index-key"]:
            print(base64.b64encode(os.urandom(32)).decode())
        case ["rotate"]:
            for table, count in asyncio.run(rotate()).items():
                print(
                    f"{table}: {count} rows re-encrypted under {get_settings().pii_cipher().active}"
                )
        case _:
            print(__doc__)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
