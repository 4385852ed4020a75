"""What live tracking tells an incident: a unit's predicted arrival as its positions come
in, its arrival on scene (the stop of its one-stop route completed within the arrival
radius), and the SLA clock running out with nobody there."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.principal import Principal
from models import Incident, IncidentUnit, Vehicle
from models.enums import IncidentStatus, SlaState
from models.geo import GeoPoint
from services.changes import record_change
from services.operations import sla, travel
from services.operations.incidents import OPEN, set_sla_state, units_of
from services.operations.notify import Publisher, announce
from solvers.matrix import MatrixProvider, travel_to
from solvers.problem import Point


@dataclass(frozen=True, slots=True)
class Fix:
    """A vehicle's position at a moment (what the tracking feed hands over)."""

    lng: float
    lat: float
    recorded_at: datetime


async def unit_arrived(
    *,
    session: AsyncSession,
    workspace_id: UUID,
    route_id: UUID,
    at: datetime,
    hub: Publisher | None,
) -> bool:
    """The unit driving `route_id` reached the scene: its own on-scene time, and for the
    first unit the incident's response and travel times and `in_progress`."""
    unit = (
        await session.exec(
            select(IncidentUnit).where(
                IncidentUnit.route_id == route_id,
                col(IncidentUnit.cleared_at).is_(None),
                col(IncidentUnit.on_scene_at).is_(None),
            )
        )
    ).first()
    if unit is None:
        return False
    incident = await session.get(Incident, unit.incident_id, with_for_update=True)
    if incident is None or incident.status not in OPEN:
        return False
    actor = Principal.system(workspace_id)
    unit.on_scene_at = at
    session.add(unit)
    travel_s = round((at - unit.dispatched_at).total_seconds())
    first = incident.first_on_scene_at is None
    if first:
        assert incident.created_at is not None
        incident.first_on_scene_at = at
        incident.response_time_s = round((at - incident.created_at).total_seconds())
        incident.travel_time_s = travel_s
        if incident.status == IncidentStatus.DISPATCHED:
            incident.status = IncidentStatus.IN_PROGRESS
    incident.updated_at = datetime.now(UTC)
    session.add(incident)
    await record_change(
        session=session,
        actor=actor,
        action="incident.unit_on_scene",
        resource_type="incident",
        resource_id=incident.id,
        changes={
            "vehicle_id": str(unit.vehicle_id),
            "on_scene_at": at.isoformat(),
            "travel_time_s": travel_s,
            "first": first,
            "status": str(incident.status),
        },
        event={
            "vehicle_id": unit.vehicle_id,
            "on_scene_at": at,
            "travel_time_s": travel_s,
            "response_time_s": incident.response_time_s if first else None,
            "first": first,
            "status": str(incident.status),
        },
    )
    announce(session, hub, incident, "unit_on_scene", vehicle_id=unit.vehicle_id)
    state = sla.state_of(incident, await units_of(session, incident.id), at)
    await set_sla_state(session=session, actor=actor, incident=incident, state=state, hub=hub)
    return True


async def units_moved(
    *,
    session: AsyncSession,
    workspace_id: UUID,
    fixes: Mapping[UUID, Fix],
    hub: Publisher | None,
    provider: MatrixProvider | None = None,
) -> None:
    """New ETAs for the units on their way among `fixes` (through the routing matrix
    provider, from where each is now), and the SLA state each incident is then in."""
    rows = (
        await session.exec(
            select(IncidentUnit, Vehicle.vehicle_type)
            .join(Vehicle, col(Vehicle.id) == col(IncidentUnit.vehicle_id))
            .where(
                col(IncidentUnit.vehicle_id).in_(list(fixes)),
                col(IncidentUnit.cleared_at).is_(None),
                col(IncidentUnit.on_scene_at).is_(None),
            )
        )
    ).all()
    if not rows:
        return
    actor = Principal.system(workspace_id)
    touched: dict[UUID, Incident] = {}
    providers: dict[UUID, MatrixProvider] = {}
    # The workspace's ranking travel, selected once for this flush.
    selected = None if provider is not None else await travel.ranking(session, workspace_id)
    for unit, vehicle_type in rows:
        # A dispatch or resolve holding the incident wins; the next position refreshes.
        incident = touched.get(unit.incident_id) or await session.get(
            Incident, unit.incident_id, with_for_update={"skip_locked": True}
        )
        if incident is None or incident.status not in OPEN:
            continue
        touched[incident.id] = incident
        scene = GeoPoint.of(incident.location)
        assert scene is not None
        fix = fixes[unit.vehicle_id]
        ranking = providers.get(incident.id) or provider
        if ranking is None:
            assert selected is not None
            ranking = selected.for_scene(scene)
        providers[incident.id] = ranking
        column = travel_to(
            ranking, [Point(fix.lat, fix.lng)], Point(scene.lat, scene.lng), {vehicle_type}
        )
        unit.eta = fix.recorded_at + timedelta(seconds=int(column.durations[vehicle_type][0]))
        session.add(unit)
    await session.flush()
    now = datetime.now(UTC)
    for incident in touched.values():
        state = sla.state_of(incident, await units_of(session, incident.id), now)
        await set_sla_state(session=session, actor=actor, incident=incident, state=state, hub=hub)


async def check_deadline(
    *, session: AsyncSession, workspace_id: UUID, incident_id: UUID, hub: Publisher | None
) -> SlaState | None:
    """Past the deadline: breached when nobody is on scene yet. Safe to run any number of
    times, at any moment (before the deadline it changes nothing)."""
    incident = await session.get(Incident, incident_id, with_for_update=True)
    if incident is None or incident.status not in OPEN:
        return None
    now = datetime.now(UTC)
    if incident.sla_deadline is None or now <= incident.sla_deadline:
        return SlaState(incident.sla_state)
    state = sla.state_of(incident, await units_of(session, incident.id), now)
    await set_sla_state(
        session=session,
        actor=Principal.system(workspace_id),
        incident=incident,
        state=state,
        hub=hub,
    )
    return state
