"""Alembic environment: runs as the owner role (DATABASE_URL) over asyncpg."""

from __future__ import annotations

import asyncio
import re
from logging.config import fileConfig
from typing import Any

from alembic import context
from geoalchemy2 import alembic_helpers
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import models  # noqa: F401 - registers every table on the metadata
from core.settings import get_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logger", True):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = SQLModel.metadata

# Partitions are created by SQL (partition functions), PostGIS brings its own tables.
_PARTITION = re.compile(r"^(live_vehicle_positions|analytics_events)_(p\d{6}|default)$")
_FOREIGN_TABLES = {"spatial_ref_sys", "geography_columns", "geometry_columns"}


def include_name(name: str | None, type_: str, parent_names: dict[str, Any]) -> bool:
    if type_ == "table" and name is not None:
        return name not in _FOREIGN_TABLES and not _PARTITION.match(name)
    return True


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        include_object=alembic_helpers.include_object,
        process_revision_directives=alembic_helpers.writer,
        render_item=alembic_helpers.render_item,
        compare_type=True,
        transaction_per_migration=True,
    )


def _run(connection: Connection) -> None:
    _configure(connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async() -> None:
    url = config.attributes.get("database_url") or get_settings().owner_dsn
    engine = create_async_engine(url)
    async with engine.connect() as connection:
        await connection.run_sync(_run)
    await engine.dispose()


def run_offline() -> None:
    context.configure(
        url=get_settings().owner_dsn,
        target_metadata=target_metadata,
        literal_binds=True,
        include_name=include_name,
        render_item=alembic_helpers.render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
    else:
        asyncio.run(run_async())
