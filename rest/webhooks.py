"""`/api/v1/webhooks/*` (admins) and `/api/v1/audit-logs` (admins)."""

from __future__ import annotations

from typing import Any

from pydantic import Field
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from core.pagination import CursorRequest, PageRequest, encode_cursor
from core.validation import Body
from models import AuditLog
from models.analytics_inputs import AuditLogFilter
from models.notification_inputs import WebhookCreate
from models.notifications import Webhook, WebhookDelivery
from models.permissions import Operation
from rest.auth import authorize, path_uuid
from rest.envelope import pagination, success
from rest.parsing import parse_body, parse_query
from rest.serialize import to_json
from services.audit import list_audit_logs
from services.notifications import webhooks


class PageQuery(Body):
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=20, ge=1, le=100)


class AuditLogQuery(AuditLogFilter):
    limit: int = Field(default=50, ge=1, le=100)
    after: str | None = Field(default=None, max_length=200)


def webhook_json(webhook: Webhook, *, secret: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": str(webhook.id),
        "url": webhook.url,
        "topics": webhook.topics,
        "description": webhook.description,
        "created_at": to_json(webhook.created_at),
    }
    if secret is not None:
        body["secret"] = secret
    return body


def delivery_json(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "id": str(delivery.id),
        "event_id": str(delivery.event_id),
        "event_type": delivery.event_type,
        "status": delivery.status,
        "attempt_count": delivery.attempt_count,
        "last_status_code": delivery.last_status_code,
        "last_error": delivery.last_error,
        "next_attempt_at": to_json(delivery.next_attempt_at),
        "attempts": delivery.attempts,
        "created_at": to_json(delivery.created_at),
        "completed_at": to_json(delivery.completed_at),
    }


def audit_json(row: AuditLog) -> dict[str, Any]:
    return {
        "id": str(row.id),
        "user_id": str(row.user_id),
        "action": row.action,
        "resource_type": row.resource_type,
        "resource_id": str(row.resource_id) if row.resource_id else None,
        "changes": row.changes,
        "ip_address": str(row.ip_address) if row.ip_address else None,
        "user_agent": row.user_agent,
        "created_at": to_json(row.created_at),
    }


async def create_webhook(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WEBHOOK_CREATE)
    data = await parse_body(request, WebhookCreate)
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        webhook, secret = await webhooks.register_webhook(
            session=session, actor=actor, data=data, settings=state.settings
        )
        body = webhook_json(webhook, secret=secret)
    return success(body, status_code=201)


async def list_webhooks(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WEBHOOK_LIST)
    query = parse_query(request, PageQuery)
    page = PageRequest(query.page, query.per_page)
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await webhooks.list_webhooks(session=session, request=page)
        items = [webhook_json(w) for w in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def get_webhook(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WEBHOOK_LIST)
    webhook_id = path_uuid(request, "webhook_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        body = webhook_json(await webhooks.get_webhook(session=session, webhook_id=webhook_id))
    return success(body)


async def delete_webhook(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WEBHOOK_DELETE)
    webhook_id = path_uuid(request, "webhook_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        await webhooks.delete_webhook(session=session, actor=actor, webhook_id=webhook_id)
    return success({"id": str(webhook_id), "deleted": True})


async def list_deliveries(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WEBHOOK_DELIVERIES)
    webhook_id = path_uuid(request, "webhook_id")
    query = parse_query(request, PageQuery)
    page = PageRequest(query.page, query.per_page)
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await webhooks.list_deliveries(
            session=session, webhook_id=webhook_id, request=page
        )
        items = [delivery_json(d) for d in result.items]
    return success(
        items, pagination=pagination(page=page.page, per_page=page.per_page, total=result.total)
    )


async def audit_logs(request: Request) -> JSONResponse:
    """Newest first; `meta.pagination.next_cursor` is the `after` of the next page."""
    actor = await authorize(request, Operation.AUDIT_READ)
    query = parse_query(request, AuditLogQuery)
    cursor = CursorRequest(first=query.limit, after=query.after, with_total=False)
    async with request.app.state.db.session(actor.workspace_id) as session:
        result = await list_audit_logs(session=session, filters=query, request=cursor)
        items = [audit_json(row) for row in result.items]
    last = result.items[-1] if result.items and result.has_next else None
    next_cursor = encode_cursor(last.created_at, last.id) if last and last.created_at else None
    return success(
        items,
        pagination={"limit": query.limit, "has_next": result.has_next, "next_cursor": next_cursor},
    )


routes: list[BaseRoute] = [
    Route("/webhooks", list_webhooks, methods=["GET"]),
    Route("/webhooks", create_webhook, methods=["POST"]),
    Route("/webhooks/{webhook_id}", get_webhook, methods=["GET"]),
    Route("/webhooks/{webhook_id}", delete_webhook, methods=["DELETE"]),
    Route("/webhooks/{webhook_id}/deliveries", list_deliveries, methods=["GET"]),
    Route("/audit-logs", audit_logs, methods=["GET"]),
]
