"""The audit trail: one row per mutation, written in the mutation's own transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from core.context import request_info
from core.pagination import CursorRequest, Page
from core.principal import Principal
from models import AuditLog
from models.analytics_inputs import AuditLogFilter
from services.listing import paginate

_SECRET_MARKERS = ("password", "token", "secret", "hash")
# Personal data is encrypted in its own columns (core.crypto): audit rows and events say
# that it changed, never what it is.
PERSONAL_FIELDS = frozenset({"full_name", "phone", "license_number", "contact_info"})
REDACTED = "[redacted]"


def redact(changes: dict[str, Any]) -> dict[str, Any]:
    """Drop the values of anything that looks like a credential or is personal data,
    recursively."""
    clean: dict[str, Any] = {}
    for key, value in changes.items():
        if key in PERSONAL_FIELDS or any(marker in key.lower() for marker in _SECRET_MARKERS):
            clean[key] = REDACTED
        elif isinstance(value, dict):
            clean[key] = redact(value)
        else:
            clean[key] = value
    return clean


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"from": old, "to": new}}` for the fields that changed."""
    return {
        key: {"from": before.get(key), "to": value}
        for key, value in after.items()
        if before.get(key) != value
    }


def redact_personal(data: dict[str, Any]) -> dict[str, Any]:
    """Event payloads: the values of personal fields replaced, recursively."""
    return {
        key: REDACTED
        if key in PERSONAL_FIELDS
        else redact_personal(value)
        if isinstance(value, dict)
        else value
        for key, value in data.items()
    }


async def record_audit(
    *,
    session: AsyncSession,
    actor: Principal,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    changes: dict[str, Any] | None = None,
) -> AuditLog:
    info = request_info.get()
    row = AuditLog(
        workspace_id=actor.workspace_id,
        user_id=actor.user_id,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        changes=redact(changes) if changes else None,
        ip_address=info.ip_address if info else None,
        user_agent=info.user_agent if info else None,
    )
    session.add(row)
    return row


async def list_audit_logs(
    *, session: AsyncSession, filters: AuditLogFilter, request: CursorRequest
) -> Page[AuditLog]:
    """The workspace's audit rows matching `filters`, newest first, by keyset."""
    conditions: list[Any] = []
    if filters.resource_type is not None:
        conditions.append(AuditLog.resource_type == filters.resource_type)
    if filters.resource_id is not None:
        conditions.append(AuditLog.resource_id == filters.resource_id)
    if filters.user_id is not None:
        conditions.append(AuditLog.user_id == filters.user_id)
    if filters.action is not None:
        conditions.append(AuditLog.action == filters.action)
    if filters.since is not None:
        conditions.append(AuditLog.created_at >= filters.since)  # type: ignore[operator]
    if filters.until is not None:
        conditions.append(AuditLog.created_at < filters.until)  # type: ignore[operator]
    return await paginate(session, AuditLog, conditions, request, newest_first=True)
