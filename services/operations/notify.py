"""`incidentUpdated`: every change of an incident, published on its workspace's channel
once the change has committed."""

from __future__ import annotations

from typing import Any, Protocol
from uuid import UUID

from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import after_commit
from core.fanout import Message
from models import Incident


def channel(workspace_id: UUID) -> str:
    return f"incidents:{workspace_id}"


def incident_message(
    incident: Incident, change: str, vehicle_id: UUID | None = None
) -> dict[str, Any]:
    return {
        "vehicle_id": str(vehicle_id) if vehicle_id else None,
        "type": "incident_updated",
        "change": change,
        "incident_id": str(incident.id),
        "status": str(incident.status),
        "severity": str(incident.severity),
        "sla_state": str(incident.sla_state),
        "assigned_vehicles": [str(v) for v in incident.assigned_vehicles or []],
    }


class Publisher(Protocol):
    """Publishes on a broadcast channel: the API's hub, or a worker's broadcast."""

    async def publish(self, channel: str, messages: Message | list[Message]) -> None: ...


def announce(
    session: AsyncSession,
    hub: Publisher | None,
    incident: Incident,
    change: str,
    *,
    vehicle_id: UUID | None = None,
) -> None:
    """Publish `change` of `incident` after the session commits (nothing on rollback)."""
    if hub is None:
        return
    message = incident_message(incident, change, vehicle_id)
    workspace_id = incident.workspace_id

    async def publish() -> None:
        await hub.publish(channel(workspace_id), message)

    after_commit(session, publish)
