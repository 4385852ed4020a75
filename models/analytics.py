"""Analytics context: the event log (partitioned by month) and the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlmodel import Field, SQLModel

from models.columns import created_at, jsonb, timestamp, uuid_pk


class AnalyticsEvent(SQLModel, table=True):
    __tablename__ = "analytics_events"
    __table_args__ = (
        sa.Index(
            "idx_analytics_workspace", "workspace_id", "event_type", sa.text("created_at DESC")
        ),
        {"postgresql_partition_by": "RANGE (created_at)"},
    )

    # The partition key must be part of the primary key of a partitioned table.
    id: UUID = Field(
        default_factory=uuid4,
        sa_column=sa.Column(sa.Uuid, primary_key=True, server_default=sa.text("gen_random_uuid()")),
    )
    created_at: datetime | None = Field(
        default=None,
        sa_column=sa.Column(
            sa.DateTime(timezone=True), primary_key=True, server_default=sa.func.now()
        ),
    )
    workspace_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    event_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    entity_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    entity_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    actor_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=jsonb())


class AuditLog(SQLModel, table=True):
    __tablename__ = "audit_logs"
    __table_args__ = (
        sa.Index("idx_audit_workspace", "workspace_id", sa.text("created_at DESC")),
        sa.Index("idx_audit_user", "user_id", sa.text("created_at DESC")),
        sa.Index("idx_audit_resource", "resource_type", "resource_id"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    user_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    action: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    resource_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    resource_id: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    changes: dict[str, Any] | None = Field(default=None, sa_column=sa.Column(JSONB))
    ip_address: str | None = Field(default=None, sa_column=sa.Column(INET))
    user_agent: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    created_at: datetime | None = Field(default=None, sa_column=created_at())


class EventOutbox(SQLModel, table=True):
    """Events committed with the change that made them and not yet on their stream.

    The relay publishes rows in `id` order and deletes them; a workspace's rows get their
    ids in commit order (`core.db` serializes the insert per workspace until commit)."""

    __tablename__ = "event_outbox"

    id: int | None = Field(
        default=None,
        sa_column=sa.Column(sa.BigInteger, sa.Identity(always=True), primary_key=True),
    )
    workspace_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    event_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    topic: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # The envelope exactly as it is published.
    envelope: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=created_at())


class EventTopicCount(SQLModel, table=True):
    """The analytics consumer's read model: events per topic per workspace."""

    __tablename__ = "event_topic_counts"

    workspace_id: UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    topic: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    event_count: int = Field(
        default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0")
    )
    last_event_at: datetime | None = Field(default=None, sa_column=timestamp())


class ConsumerReceipt(SQLModel, table=True):
    """One row per event a consumer group has applied: a second delivery finds it."""

    __tablename__ = "consumer_receipts"
    __table_args__ = (sa.Index("idx_consumer_receipts_processed", "processed_at"),)

    consumer_group: str = Field(sa_column=sa.Column(sa.Text, primary_key=True))
    event_id: UUID = Field(sa_column=sa.Column(sa.Uuid, primary_key=True))
    workspace_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    processed_at: datetime | None = Field(default=None, sa_column=created_at())
