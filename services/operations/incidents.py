"""Incidents: report, read, list, the status machine, and clearing units on resolve."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import after_commit
from core.errors import Conflict, NotFound, ValidationFailed
from core.pagination import CursorRequest, Page, PageRequest
from core.principal import Principal
from models import Incident, IncidentUnit, Route
from models.enums import IncidentSeverity, IncidentStatus, RouteStatus, SlaState
from models.geo import GeoPoint
from models.operations_inputs import IncidentCreate, IncidentUpdate
from services.audit import diff
from services.changes import record_change
from services.listing import paginate
from services.operations import experience, sla
from services.operations.notify import Publisher, announce
from services.routing import routes

OPEN = (IncidentStatus.REPORTED, IncidentStatus.DISPATCHED, IncidentStatus.IN_PROGRESS)
TRANSITIONS: dict[IncidentStatus, set[IncidentStatus]] = {
    IncidentStatus.REPORTED: {IncidentStatus.DISPATCHED},
    IncidentStatus.DISPATCHED: {IncidentStatus.IN_PROGRESS},
    IncidentStatus.IN_PROGRESS: {IncidentStatus.RESOLVED},
    IncidentStatus.RESOLVED: {IncidentStatus.CLOSED},
    IncidentStatus.CLOSED: set(),
}
# Status changes announced under their own event name; the others are `incident.updated`.
STATUS_EVENTS = {
    IncidentStatus.RESOLVED: "incident.resolved",
    IncidentStatus.CLOSED: "incident.closed",
}


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    status: IncidentStatus | None = None
    severity: IncidentSeverity | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    active_only: bool = False


@dataclass(frozen=True, slots=True)
class IncidentDetail:
    incident: Incident
    units: list[IncidentUnit]


def snapshot(incident: Incident) -> dict[str, Any]:
    location = GeoPoint.of(incident.location)
    return {
        "severity": str(incident.severity),
        "incident_type": incident.incident_type,
        "description": incident.description,
        "location": list(location.coordinates) if location else None,
        "status": str(incident.status),
        "response_sla_minutes": incident.response_sla_minutes,
        "sla_state": str(incident.sla_state),
    }


async def get_incident(
    *, session: AsyncSession, actor: Principal, incident_id: UUID, lock: bool = False
) -> Incident:
    """The incident; `lock` holds its row so that changes of one incident (two dispatches,
    a dispatch and a resolve) apply one after the other."""
    incident = await session.get(Incident, incident_id, with_for_update=lock or None)
    if incident is None:
        raise NotFound.resource("Incident", incident_id)
    return incident


async def units_of(session: AsyncSession, incident_id: UUID) -> list[IncidentUnit]:
    rows = await session.exec(
        select(IncidentUnit)
        .where(IncidentUnit.incident_id == incident_id)
        .order_by(col(IncidentUnit.dispatched_at), col(IncidentUnit.id))
    )
    return list(rows)


async def incident_detail(
    *, session: AsyncSession, actor: Principal, incident_id: UUID
) -> IncidentDetail:
    incident = await get_incident(session=session, actor=actor, incident_id=incident_id)
    return IncidentDetail(incident, await units_of(session, incident.id))


async def create_incident(
    *,
    session: AsyncSession,
    actor: Principal,
    data: IncidentCreate,
    hub: Publisher | None = None,
    best_eta: datetime | None = None,
    clock: sla.SlaClock | None = None,
) -> Incident:
    """Report an incident; its SLA is the one given or the workspace's default for the
    severity, and its state is predicted from `best_eta` (the closest free unit's)."""
    now = datetime.now(UTC)
    minutes = data.response_sla_minutes
    if minutes is None:
        minutes = (await experience.sla_minutes(session, actor))[data.severity.value]
    deadline = now + timedelta(minutes=minutes)
    incident = Incident(
        workspace_id=actor.workspace_id,
        severity=data.severity,
        incident_type=data.incident_type,
        description=data.description,
        location=data.location.to_wkt(),
        response_sla_minutes=minutes,
        reported_by=actor.user_id,
        created_at=now,
        sla_deadline=deadline,
        sla_state=sla.predict(now=now, deadline=deadline, first_on_scene_at=None, etas=[best_eta]),
    )
    session.add(incident)
    await session.flush()
    await record_change(
        session=session,
        actor=actor,
        action="incident.created",
        resource_type="incident",
        resource_id=incident.id,
        changes=snapshot(incident),
        event={
            **snapshot(incident),
            "sla_deadline": deadline,
            "predicted_arrival": best_eta,
        },
    )
    await session.refresh(incident)
    announce(session, hub, incident, "created")
    if clock is not None:
        incident_id, workspace_id = incident.id, incident.workspace_id

        async def wake_at_deadline() -> None:
            await clock.schedule(incident_id, workspace_id, deadline)

        after_commit(session, wake_at_deadline)
    return incident


def _move(incident: Incident, to: IncidentStatus) -> None:
    if to not in TRANSITIONS[incident.status]:
        raise Conflict(
            f"A {incident.status.value} incident cannot become {to.value}",
            details={"status": incident.status.value, "requested": to.value},
        )
    if to == IncidentStatus.DISPATCHED:
        raise Conflict(
            "An incident is dispatched by sending units: POST /incidents/{id}/dispatch",
            details={"status": incident.status.value, "requested": to.value},
        )
    incident.status = to


async def update_incident(
    *,
    session: AsyncSession,
    actor: Principal,
    incident_id: UUID,
    data: IncidentUpdate,
    hub: Publisher | None = None,
) -> IncidentDetail:
    """Change severity, type, description or status (one step of the machine); resolving
    or closing clears the incident's units."""
    incident = await get_incident(session=session, actor=actor, incident_id=incident_id, lock=True)
    fields = data.model_fields_set
    for key in ("status", "severity", "incident_type"):
        if key in fields and getattr(data, key) is None:
            raise ValidationFailed.field(key, "cannot be null")
    before = snapshot(incident)
    now = datetime.now(UTC)
    for key in ("severity", "incident_type", "description"):
        if key in fields:
            setattr(incident, key, getattr(data, key))
    status_change = data.status is not None and data.status != incident.status
    if status_change and data.status is not None:
        _move(incident, data.status)
        if data.status == IncidentStatus.RESOLVED:
            incident.resolved_at = now
        elif data.status == IncidentStatus.CLOSED:
            incident.closed_at = now
        if data.status in (IncidentStatus.RESOLVED, IncidentStatus.CLOSED):
            await clear_units(session=session, actor=actor, incident=incident, at=now)
    changes = diff(before, snapshot(incident))
    if not changes:
        return IncidentDetail(incident, await units_of(session, incident.id))
    incident.updated_at = now
    session.add(incident)
    await session.flush()
    action = STATUS_EVENTS.get(incident.status, "incident.updated")
    await record_change(
        session=session,
        actor=actor,
        action=action if status_change else "incident.updated",
        resource_type="incident",
        resource_id=incident.id,
        changes=changes,
        event={"changes": changes, "status": str(incident.status)},
    )
    await session.refresh(incident)
    announce(session, hub, incident, str(incident.status) if status_change else "updated")
    return IncidentDetail(incident, await units_of(session, incident.id))


async def clear_units(
    *, session: AsyncSession, actor: Principal, incident: Incident, at: datetime
) -> list[IncidentUnit]:
    """Release every unit still assigned: a route that reached the scene is completed, one
    still on its way is cancelled, and either way its vehicle is available again."""
    units = [u for u in await units_of(session, incident.id) if u.cleared_at is None]
    for unit in units:
        if unit.route_id is not None:
            route = await session.get(Route, unit.route_id)
            if route is not None and route.status in (
                RouteStatus.DEPLOYED,
                RouteStatus.IN_PROGRESS,
            ):
                if unit.on_scene_at is not None:
                    await routes.complete_route(session=session, actor=actor, route_id=route.id)
                else:
                    await routes.cancel_route(session=session, actor=actor, route_id=route.id)
        unit.cleared_at = at
        session.add(unit)
    await session.flush()
    return units


async def list_incidents(
    *,
    session: AsyncSession,
    actor: Principal,
    filters: IncidentFilter,
    request: PageRequest | CursorRequest,
) -> Page[Incident]:
    """Newest first; `active_only` keeps the incidents not yet resolved."""
    conditions: list[Any] = [col(Incident.workspace_id) == actor.workspace_id]
    if filters.active_only:
        conditions.append(col(Incident.status).in_(OPEN))
    if filters.status is not None:
        conditions.append(col(Incident.status) == filters.status)
    if filters.severity is not None:
        conditions.append(col(Incident.severity) == filters.severity)
    if filters.created_from is not None:
        conditions.append(col(Incident.created_at) >= filters.created_from)
    if filters.created_to is not None:
        conditions.append(col(Incident.created_at) < filters.created_to)
    return await paginate(session, Incident, conditions, request, newest_first=True)


async def set_sla_state(
    *,
    session: AsyncSession,
    actor: Principal,
    incident: Incident,
    state: SlaState,
    hub: Publisher | None,
    data: dict[str, Any] | None = None,
) -> bool:
    """Move the SLA state, with its event and an `incidentUpdated` message; False when
    it is already there."""
    if incident.sla_state == state:
        return False
    before = incident.sla_state
    incident.sla_state = state
    incident.updated_at = datetime.now(UTC)
    session.add(incident)
    await record_change(
        session=session,
        actor=actor,
        action=sla.STATE_EVENTS.get(state, "incident.sla_on_track"),
        resource_type="incident",
        resource_id=incident.id,
        changes={"sla_state": {"from": str(before), "to": str(state)}},
        event={
            "sla_state": str(state),
            "previous": str(before),
            "sla_deadline": incident.sla_deadline,
            **(data or {}),
        },
    )
    announce(session, hub, incident, "sla_state")
    return True
