"""One call for what every mutation leaves behind: its audit row and its event, both in
the mutation's transaction (the event is published only if that commits)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from core.principal import Principal
from services.audit import record_audit
from services.events import emit


async def record_change(
    *,
    session: AsyncSession,
    actor: Principal,
    action: str,
    resource_type: str,
    resource_id: UUID | None,
    changes: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> None:
    """Audit `action` on the resource and emit the event of the same name, whose data is
    `event` (by default the changes)."""
    await record_audit(
        session=session,
        actor=actor,
        action=action,
        resource_type=resource_type,
        resource_id=resource_id,
        changes=changes,
    )
    emit(
        session=session,
        actor=actor,
        event_type=action,
        entity_type=resource_type,
        entity_id=resource_id,
        data=event if event is not None else (changes or {}),
    )
