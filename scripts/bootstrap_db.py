"""Create the roles, the PostGIS template and the application database (idempotent).

Runs as a PostgreSQL superuser (POSTGRES_SUPERUSER_URL, else DATABASE_URL). Roles:
- the owner (the user of DATABASE_URL) owns the schema and runs migrations;
- the application role (DB_APP_ROLE) is what the API and workers log in as: not superuser,
  not BYPASSRLS, owns nothing;
- the identity role (DB_AUTH_ROLE, NOLOGIN) owns the SECURITY DEFINER login look-up.
"""

from __future__ import annotations

import asyncio
import os
import sys

import asyncpg
from sqlalchemy.engine import make_url

sys.path.insert(0, os.getcwd())
from core.settings import get_settings

POSTGIS_TEMPLATE = "omniroute_postgis_template"


def log(message: str) -> None:
    print(f"[bootstrap] {message}", file=sys.stderr)


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


async def ensure_role(
    conn: asyncpg.Connection, name: str, options: str, password: str | None
) -> None:
    exists = await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", name)
    verb = "ALTER" if exists else "CREATE"
    sql = f"{verb} ROLE {quote_ident(name)} {options}"
    if password:
        sql += f" PASSWORD {quote_literal(password)}"
    await conn.execute(sql)
    if not exists:
        log(f"created role {name}")


async def ensure_database(conn: asyncpg.Connection, name: str, owner: str, template: str) -> None:
    if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        return
    await conn.execute(
        f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(owner)}"
        f" TEMPLATE {quote_ident(template)}"
    )
    log(f"created database {name}")


async def ensure_postgis(dsn: str) -> None:
    """PostGIS, and pgRouting where the server has it (the road tests and benchmark compare
    the road matrices with it; the application itself does not need it)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        if await conn.fetchval(
            "SELECT 1 FROM pg_available_extensions WHERE name = 'pgrouting'"
        ) and await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"):
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pgrouting")
    finally:
        await conn.close()


async def main() -> None:
    settings = get_settings()
    owner_url = make_url(settings.database_url)
    super_url = make_url(os.environ.get("POSTGRES_SUPERUSER_URL") or settings.database_url)
    owner, database = owner_url.username or "postgres", owner_url.database or "omniroute"
    maintenance = super_url.set(drivername="postgresql", database="postgres")

    conn = await asyncpg.connect(maintenance.render_as_string(hide_password=False))
    try:
        is_super = await conn.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if not is_super:
            log("not a superuser: assuming roles, PostGIS and the database exist")
        else:
            if owner != super_url.username:
                await ensure_role(conn, owner, "LOGIN CREATEDB NOSUPERUSER", owner_url.password)
                # Dropping a database (tests, resets) must end the app role's sessions.
                await conn.execute(f"GRANT pg_signal_backend TO {quote_ident(owner)}")
            app_password = (
                settings.db_app_password.get_secret_value() if settings.db_app_password else None
            )
            await ensure_role(
                conn,
                settings.db_app_role,
                "LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE",
                app_password,
            )
            await ensure_role(conn, settings.db_auth_role, "NOLOGIN NOSUPERUSER NOBYPASSRLS", None)
            # The owner hands the login function to the identity role, so it must be a member.
            await conn.execute(
                f"GRANT {quote_ident(settings.db_auth_role)} TO {quote_ident(owner)}"
            )
            template_dsn = maintenance.set(database=POSTGIS_TEMPLATE).render_as_string(
                hide_password=False
            )
            if await conn.fetchval(
                "SELECT 1 FROM pg_database WHERE datname = $1", POSTGIS_TEMPLATE
            ):
                await ensure_postgis(template_dsn)  # a template made before pgRouting
            else:
                await conn.execute(f"CREATE DATABASE {quote_ident(POSTGIS_TEMPLATE)}")
                await ensure_postgis(
                    maintenance.set(database=POSTGIS_TEMPLATE).render_as_string(hide_password=False)
                )
                await conn.execute(
                    "UPDATE pg_database SET datistemplate = true WHERE datname = $1",
                    POSTGIS_TEMPLATE,
                )
                log(f"created template {POSTGIS_TEMPLATE} with PostGIS")
            await ensure_database(conn, database, owner, POSTGIS_TEMPLATE)
    finally:
        await conn.close()

    target = super_url.set(drivername="postgresql", database=database)
    try:
        await ensure_postgis(target.render_as_string(hide_password=False))
    except asyncpg.InsufficientPrivilegeError:
        log("cannot create the postgis extension: ask a superuser to run CREATE EXTENSION postgis")
        raise


if __name__ == "__main__":
    asyncio.run(main())
