"""Column factories, so every table spells keys, timestamps, JSONB and geography alike.

Each call returns a new `Column`: SQLAlchemy columns cannot be shared between tables.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.dialects.postgresql import JSONB


def uuid_pk() -> sa.Column[Any]:
    return sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()"))


def workspace_fk(*, ondelete: str | None = "CASCADE", fk: bool = True) -> sa.Column[Any]:
    if not fk:
        return sa.Column(sa.Uuid, nullable=False)
    return sa.Column(sa.Uuid, sa.ForeignKey("workspaces.id", ondelete=ondelete), nullable=False)


def created_at() -> sa.Column[Any]:
    return sa.Column(sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def updated_at() -> sa.Column[Any]:
    return sa.Column(
        sa.DateTime(timezone=True),
        nullable=False,
        server_default=sa.func.now(),
        onupdate=sa.func.now(),
    )


def timestamp(*, nullable: bool = True) -> sa.Column[Any]:
    return sa.Column(sa.DateTime(timezone=True), nullable=nullable)


def jsonb(*, nullable: bool = False, name: str | None = None) -> sa.Column[Any]:
    """A JSONB object defaulting to `{}`; `name` where the attribute cannot be the column's
    (`metadata` is reserved by SQLAlchemy's declarative base)."""
    args: tuple[Any, ...] = (name, JSONB) if name else (JSONB,)
    return sa.Column(*args, nullable=nullable, server_default=sa.text("'{}'::jsonb"))


def point(*, nullable: bool = True) -> sa.Column[Any]:
    # GiST indexes are declared explicitly in __table_args__ with the spec's names.
    return sa.Column(
        Geography(geometry_type="POINT", srid=4326, spatial_index=False), nullable=nullable
    )


def linestring() -> sa.Column[Any]:
    return sa.Column(
        Geography(geometry_type="LINESTRING", srid=4326, spatial_index=False), nullable=False
    )


def pg_enum(enum: type[StrEnum], name: str, **kwargs: Any) -> sa.Column[Any]:
    return sa.Column(
        sa.Enum(enum, name=name, values_callable=lambda e: [m.value for m in e]), **kwargs
    )


def gist(name: str, column: str) -> sa.Index:
    return sa.Index(name, column, postgresql_using="gist")


def live(name: str, *columns: str) -> sa.Index:
    """An index over rows that are not soft-deleted."""
    return sa.Index(name, *columns, postgresql_where=sa.text("deleted_at IS NULL"))


def trigram(name: str, column: str) -> sa.Index:
    """A pg_trgm index, so that `ILIKE '%text%'` search does not scan the table."""
    return sa.Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})
