"""The response clock of an incident: defaults per severity and the state it is in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Protocol
from uuid import UUID

from models import Incident, IncidentUnit
from models.enums import IncidentSeverity, SlaState

DEFAULT_UNITS: Mapping[str, int] = {
    IncidentSeverity.CRITICAL: 3,
    IncidentSeverity.HIGH: 2,
    IncidentSeverity.MEDIUM: 1,
    IncidentSeverity.LOW: 1,
}
# State changes worth an event of their own (the others travel in `incident.updated`).
STATE_EVENTS: Mapping[SlaState, str] = {
    SlaState.AT_RISK: "incident.sla_at_risk",
    SlaState.BREACHED: "incident.sla_breached",
    SlaState.MET: "incident.sla_met",
}


def predict(
    *,
    now: datetime,
    deadline: datetime,
    first_on_scene_at: datetime | None,
    etas: Iterable[datetime | None],
) -> SlaState:
    """`met` or `breached` once a unit is on scene; `breached` once the deadline passed
    without one; else `at_risk` when the best predicted arrival (of the assigned units, or
    of the candidates before any is assigned) is after the deadline, or there is none."""
    if first_on_scene_at is not None:
        return SlaState.MET if first_on_scene_at <= deadline else SlaState.BREACHED
    if now > deadline:
        return SlaState.BREACHED
    known = [eta for eta in etas if eta is not None]
    if not known or min(known) > deadline:
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def state_of(incident: Incident, units: Iterable[IncidentUnit], now: datetime) -> SlaState:
    """The incident's SLA state from its open units' ETAs."""
    assert incident.sla_deadline is not None
    return predict(
        now=now,
        deadline=incident.sla_deadline,
        first_on_scene_at=incident.first_on_scene_at,
        etas=[u.eta for u in units if u.cleared_at is None],
    )


class SlaClock(Protocol):
    """Wakes the incident's SLA check at its deadline (a delayed job), so that a deadline
    passing with nobody on scene is noticed without anyone asking."""

    async def schedule(self, incident_id: UUID, workspace_id: UUID, at: datetime) -> None: ...
