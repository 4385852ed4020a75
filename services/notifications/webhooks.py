"""Webhook endpoints: registered by admins per workspace, each with the topics it wants
and a secret shown once; the `notification` consumer turns events into deliveries."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import Database
from core.errors import NotFound
from core.events import Event
from core.pagination import CursorRequest, Page, PageRequest
from core.principal import Principal
from core.settings import Settings
from models.notification_inputs import WebhookCreate
from models.notifications import DeliveryStatus, Webhook, WebhookDelivery
from services.changes import record_change
from services.listing import paginate
from services.notifications.targets import check_target
from services.receipts import by_workspace

GROUP = "notification"

_ENQUEUE = sa.text(
    """
    INSERT INTO webhook_deliveries
        (workspace_id, webhook_id, event_id, event_type, body, next_attempt_at)
    SELECT :workspace_id, w.id, e.id, e.topic, e.body, now()
    FROM webhooks w
    JOIN unnest(CAST(:event_ids AS uuid[]), CAST(:topics AS text[]), CAST(:bodies AS text[]))
        AS e(id, topic, body)
        ON e.topic = ANY(w.topics) OR '*' = ANY(w.topics)
    WHERE w.deleted_at IS NULL
    ON CONFLICT (webhook_id, event_id) DO NOTHING
    """
)


def allow_private_targets(settings: Settings) -> bool:
    """Loopback and private receivers (and plain http) only in development and test."""
    return settings.environment.value in ("development", "test")


async def register_webhook(
    *, session: AsyncSession, actor: Principal, data: WebhookCreate, settings: Settings
) -> tuple[Webhook, str]:
    """Store an endpoint; returns it with its signing secret, which is never shown again."""
    await check_target(data.url, allow_private=allow_private_targets(settings))
    secret = "whsec_" + secrets.token_urlsafe(32)
    webhook = Webhook(
        workspace_id=actor.workspace_id,
        url=data.url,
        topics=data.topics,
        description=data.description,
        secret=secret,
        created_by=actor.user_id,
    )
    session.add(webhook)
    await session.flush()
    await record_change(
        session=session,
        actor=actor,
        action="webhook.created",
        resource_type="webhook",
        resource_id=webhook.id,
        changes={"url": data.url, "topics": data.topics},
    )
    return webhook, secret


async def get_webhook(*, session: AsyncSession, webhook_id: UUID) -> Webhook:
    webhook = await session.get(Webhook, webhook_id)
    if webhook is None or webhook.deleted_at is not None:
        raise NotFound.resource("Webhook", webhook_id)
    return webhook


async def list_webhooks(
    *, session: AsyncSession, request: PageRequest | CursorRequest
) -> Page[Webhook]:
    return await paginate(session, Webhook, [Webhook.deleted_at.is_(None)], request)  # type: ignore[union-attr]


async def delete_webhook(*, session: AsyncSession, actor: Principal, webhook_id: UUID) -> None:
    """Soft-delete the endpoint; its pending deliveries end as failed."""
    webhook = await get_webhook(session=session, webhook_id=webhook_id)
    now = datetime.now(UTC)
    webhook.deleted_at = now
    session.add(webhook)
    await session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.webhook_id == webhook_id,  # type: ignore[arg-type]
            WebhookDelivery.status == DeliveryStatus.PENDING.value,  # type: ignore[arg-type]
        )
        .values(status=DeliveryStatus.FAILED.value, last_error="endpoint deleted", completed_at=now)
    )
    await record_change(
        session=session,
        actor=actor,
        action="webhook.deleted",
        resource_type="webhook",
        resource_id=webhook_id,
        changes={"url": webhook.url},
    )


async def list_deliveries(
    *, session: AsyncSession, webhook_id: UUID, request: PageRequest | CursorRequest
) -> Page[WebhookDelivery]:
    """The endpoint's deliveries, newest first, each with its attempts."""
    await get_webhook(session=session, webhook_id=webhook_id)
    return await paginate(
        session,
        WebhookDelivery,
        [WebhookDelivery.webhook_id == webhook_id],
        request,
        newest_first=True,
    )


async def enqueue_deliveries(*, db: Database, events: list[Event]) -> int:
    """One pending delivery per (subscribed endpoint, event); a redelivered event adds
    nothing. Returns how many were added."""
    added = 0
    for workspace_id, group in by_workspace(events).items():
        async with db.session(workspace_id) as session:
            result = await session.execute(
                _ENQUEUE,
                {
                    "workspace_id": workspace_id,
                    "event_ids": [e.event_id for e in group],
                    "topics": [e.event_type for e in group],
                    "bodies": [e.envelope_text() for e in group],
                },
            )
            added += result.rowcount or 0  # type: ignore[attr-defined]
    return added
