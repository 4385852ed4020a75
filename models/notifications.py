"""Notification context: webhook endpoints registered per workspace and their deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from models.columns import created_at, timestamp, uuid_pk, workspace_fk


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(SQLModel, table=True):
    __tablename__ = "webhooks"
    __table_args__ = (
        sa.Index(
            "idx_webhooks_workspace", "workspace_id", postgresql_where=sa.text("deleted_at IS NULL")
        ),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    url: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    topics: list[str] = Field(
        default_factory=list, sa_column=sa.Column(ARRAY(sa.Text), nullable=False)
    )
    description: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    # HMAC key of the signatures: shown once, at registration.
    secret: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    created_by: UUID | None = Field(default=None, sa_column=sa.Column(sa.Uuid))
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())


class WebhookDelivery(SQLModel, table=True):
    """One event for one endpoint: its attempts so far and when the next is due."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_deliveries_event"),
        sa.Index("idx_webhook_deliveries_webhook", "webhook_id", sa.text("created_at DESC")),
        sa.Index(
            "idx_webhook_deliveries_due",
            "next_attempt_at",
            postgresql_where=sa.text("status = 'pending'"),
        ),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    webhook_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False
        )
    )
    event_id: UUID = Field(sa_column=sa.Column(sa.Uuid, nullable=False))
    event_type: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    # The exact body that is signed and sent: the event envelope.
    body: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    status: str = Field(
        default=DeliveryStatus.PENDING.value,
        sa_column=sa.Column(sa.Text, nullable=False, server_default="pending"),
    )
    attempt_count: int = Field(
        default=0, sa_column=sa.Column(sa.Integer, nullable=False, server_default="0")
    )
    next_attempt_at: datetime | None = Field(default=None, sa_column=timestamp())
    last_status_code: int | None = Field(default=None, sa_column=sa.Column(sa.Integer))
    last_error: str | None = Field(default=None, sa_column=sa.Column(sa.Text))
    # [{attempt, at, status_code, latency_ms, error}], oldest first.
    attempts: list[dict[str, Any]] = Field(
        default_factory=list,
        sa_column=sa.Column(JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
    )
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    completed_at: datetime | None = Field(default=None, sa_column=timestamp())
