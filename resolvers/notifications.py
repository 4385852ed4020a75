"""Webhooks (admins) and the audit log (admins)."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.payloads import Done, DoneResult, WebhookResult
from schema.permissions import Operation, requires
from schema.types.notifications import (
    AuditLogEntry,
    AuditLogFilterInput,
    Webhook,
    WebhookDelivery,
    WebhookInput,
    WebhookRegistration,
    audit_log_filter,
)
from schema.types.pagination import Connection, cursor
from services.audit import list_audit_logs
from services.notifications import webhooks

Ctx = Info[Context, None]


@strawberry.type
class NotificationQuery:
    @strawberry.field(extensions=requires(Operation.WEBHOOK_LIST))
    async def webhooks(
        self, info: Ctx, first: int = 20, after: str | None = None
    ) -> Connection[Webhook]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            page = await webhooks.list_webhooks(session=session, request=cursor(info, first, after))
        return Connection.of(page, Webhook.of)

    @strawberry.field(
        extensions=requires(Operation.WEBHOOK_DELIVERIES),
        description="An endpoint's deliveries, newest first, with every attempt's status "
        "code and latency.",
    )
    async def webhook_deliveries(
        self, info: Ctx, webhook_id: UUID, first: int = 20, after: str | None = None
    ) -> Connection[WebhookDelivery]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            page = await webhooks.list_deliveries(
                session=session, webhook_id=webhook_id, request=cursor(info, first, after)
            )
        return Connection.of(page, WebhookDelivery.of)

    @strawberry.field(
        extensions=requires(Operation.AUDIT_READ),
        description="The workspace's audit trail, newest first.",
    )
    async def audit_logs(
        self,
        info: Ctx,
        filter: AuditLogFilterInput | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> Connection[AuditLogEntry]:
        actor = await info.context.principal()
        filters = audit_log_filter(filter)
        async with info.context.db.session(actor.workspace_id) as session:
            page = await list_audit_logs(
                session=session, filters=filters, request=cursor(info, first, after)
            )
        return Connection.of(page, AuditLogEntry.of)


@strawberry.type
class NotificationMutation:
    @strawberry.mutation(
        extensions=requires(Operation.WEBHOOK_CREATE),
        description="Register an endpoint for some topics (or '*'); the secret signs every "
        "delivery and is returned only here.",
    )
    async def create_webhook(self, info: Ctx, input: WebhookInput) -> WebhookResult:
        ctx = info.context
        actor = await ctx.principal()
        data = input.to_request()
        async with ctx.db.session(actor.workspace_id) as session:
            row, secret = await webhooks.register_webhook(
                session=session, actor=actor, data=data, settings=ctx.settings
            )
        return WebhookRegistration(webhook=Webhook.of(row), secret=secret)

    @strawberry.mutation(extensions=requires(Operation.WEBHOOK_DELETE))
    async def delete_webhook(self, info: Ctx, id: UUID) -> DoneResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            await webhooks.delete_webhook(session=session, actor=actor, webhook_id=id)
        return Done()
