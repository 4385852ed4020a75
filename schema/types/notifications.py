"""Webhooks, their deliveries, and audit log rows."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from models import AuditLog as AuditLogRow
from models.analytics_inputs import AuditLogFilter
from models.notification_inputs import WebhookCreate
from models.notifications import Webhook as WebhookRow
from models.notifications import WebhookDelivery as DeliveryRow
from schema.requests import request


@strawberry.type
class Webhook:
    id: UUID
    url: str
    topics: list[str]
    description: str | None
    created_at: datetime | None
    row: strawberry.Private[WebhookRow]

    @classmethod
    def of(cls, row: WebhookRow) -> Webhook:
        return cls(
            id=row.id,
            url=row.url,
            topics=list(row.topics),
            description=row.description,
            created_at=row.created_at,
            row=row,
        )


@strawberry.type(description="A new endpoint with its signing secret, shown only this once.")
class WebhookRegistration:
    webhook: Webhook
    secret: str


@strawberry.type
class WebhookDelivery:
    id: UUID
    event_id: UUID
    event_type: str
    status: str
    attempt_count: int
    last_status_code: int | None
    last_error: str | None
    next_attempt_at: datetime | None
    attempts: JSON
    created_at: datetime | None
    completed_at: datetime | None

    @classmethod
    def of(cls, row: DeliveryRow) -> WebhookDelivery:
        return cls(
            id=row.id,
            event_id=row.event_id,
            event_type=row.event_type,
            status=row.status,
            attempt_count=row.attempt_count,
            last_status_code=row.last_status_code,
            last_error=row.last_error,
            next_attempt_at=row.next_attempt_at,
            attempts=JSON(row.attempts),
            created_at=row.created_at,
            completed_at=row.completed_at,
        )


@strawberry.input
class WebhookInput:
    def to_request(self) -> WebhookCreate:
        return request(WebhookCreate, self)

    url: str
    topics: list[str]
    description: str | None = strawberry.UNSET


@strawberry.input
class AuditLogFilterInput:
    resource_type: str | None = strawberry.UNSET
    resource_id: UUID | None = strawberry.UNSET
    user_id: UUID | None = strawberry.UNSET
    action: str | None = strawberry.UNSET
    since: datetime | None = strawberry.UNSET
    until: datetime | None = strawberry.UNSET


@strawberry.type
class AuditLogEntry:
    id: UUID
    user_id: UUID
    action: str
    resource_type: str
    resource_id: UUID | None
    changes: JSON | None
    ip_address: str | None
    user_agent: str | None
    created_at: datetime | None

    @classmethod
    def of(cls, row: AuditLogRow) -> AuditLogEntry:
        return cls(
            id=row.id,
            user_id=row.user_id,
            action=row.action,
            resource_type=row.resource_type,
            resource_id=row.resource_id,
            changes=JSON(row.changes) if row.changes is not None else None,
            ip_address=str(row.ip_address) if row.ip_address else None,
            user_agent=row.user_agent,
            created_at=row.created_at,
        )


def audit_log_filter(value: AuditLogFilterInput | None) -> AuditLogFilter:
    return request(AuditLogFilter, value)
