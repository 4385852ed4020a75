"""Emitting domain events: an `analytics_events` row now, the stream message on commit."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from core import jsontext
from core.db import queue_event
from core.events import Event
from core.principal import SYSTEM_USER_ID, Principal
from models import AnalyticsEvent
from services.audit import redact_personal

# The entity an event is about, named in its data (readers such as the analytics fold and
# webhook receivers see only the envelope).
ENTITY_KEYS = {
    "route": "route_id",
    "vehicle": "vehicle_id",
    "incident": "incident_id",
    "optimization_job": "job_id",
}


def emit(
    *,
    session: AsyncSession,
    actor: Principal,
    event_type: str,
    entity_type: str,
    entity_id: UUID | None,
    data: dict[str, Any],
) -> Event:
    """Record `event_type` in the caller's transaction; it is published only if that commits."""
    # Plain JSON values, UUIDs and timestamps written as the API writes them.
    payload = orjson.loads(jsontext.dumps(redact_personal(data)))
    key = ENTITY_KEYS.get(entity_type)
    if key is not None and entity_id is not None:
        payload.setdefault(key, str(entity_id))
    actor_id = None if actor.user_id == SYSTEM_USER_ID else actor.user_id
    event = Event(
        event_type=event_type, workspace_id=actor.workspace_id, actor_id=actor_id, data=payload
    )
    session.add(
        AnalyticsEvent(
            id=event.event_id,
            created_at=event.timestamp,
            workspace_id=actor.workspace_id,
            event_type=event_type,
            entity_type=entity_type,
            entity_id=entity_id,
            actor_id=actor_id,
            payload=payload,
        )
    )
    queue_event(session, event)
    return event
