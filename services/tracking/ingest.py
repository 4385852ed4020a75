"""Position ingestion: validate each report, check who may report for which vehicle, and
hand the good ones to the writer. In a batch the good positions are kept and each bad one
is reported by its index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlmodel import col, select

from core.db import Database
from core.errors import Forbidden, NotFound, ValidationFailed
from core.principal import Principal
from models import Driver, Vehicle
from models.enums import UserRole
from models.tracking_inputs import PositionReport
from services.tracking.writer import Position, PositionWriter


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int
    field: str
    reason: str
    code: str = "VALIDATION_ERROR"


@dataclass(frozen=True, slots=True)
class Ingested:
    accepted: list[tuple[int, Position, bool]]
    """(index, position, stored now: False means a duplicate, acknowledged and kept once)."""
    rejected: list[Rejected]


def _rejection(index: int, exc: ValidationError) -> Rejected:
    """The first problem of a report, with the field it is about."""
    err = exc.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    field = ".".join(str(p) for p in err["loc"])
    if not field and ": " in message:
        field, message = message.split(": ", 1)
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    return Rejected(index, field or "position", f"{field}: {message}" if field else message)


async def _allowed_vehicles(db: Database, actor: Principal, ids: set[UUID]) -> set[UUID]:
    """Vehicles of the workspace the actor may report for: any live one for operators and
    admins (telematics integrations), only the assigned one for a driver."""
    async with db.session(actor.workspace_id) as session:
        live = set(
            (
                await session.exec(
                    select(Vehicle.id).where(
                        col(Vehicle.id).in_(ids), col(Vehicle.deleted_at).is_(None)
                    )
                )
            ).all()
        )
        if actor.role != UserRole.DRIVER.value:
            return live
        assigned = (
            await session.exec(select(Driver.vehicle_id).where(Driver.user_id == actor.user_id))
        ).first()
    return live & ({assigned} if assigned else set())


async def ingest(
    *, db: Database, writer: PositionWriter, actor: Principal, reports: list[Any]
) -> Ingested:
    parsed: list[tuple[int, PositionReport]] = []
    rejected: list[Rejected] = []
    for index, raw in enumerate(reports):
        try:
            parsed.append((index, PositionReport.model_validate(raw)))
        except ValidationError as exc:
            rejected.append(_rejection(index, exc))
    allowed = await _allowed_vehicles(db, actor, {r.vehicle_id for _, r in parsed})
    now = datetime.now(UTC)
    positions: list[tuple[int, Position]] = []
    for index, report in parsed:
        if report.vehicle_id not in allowed:
            code = "FORBIDDEN" if actor.role == UserRole.DRIVER.value else "NOT_FOUND"
            reason = (
                "a driver reports only for the vehicle assigned to them"
                if code == "FORBIDDEN"
                else f"vehicle {report.vehicle_id} does not exist"
            )
            rejected.append(Rejected(index, "vehicle_id", reason, code))
            continue
        positions.append(
            (
                index,
                Position(
                    vehicle_id=report.vehicle_id,
                    recorded_at=report.recorded_at or now,
                    lng=report.lng,
                    lat=report.lat,
                    speed_kmh=report.speed,
                    heading=report.heading,
                    accuracy_m=report.accuracy_m,
                    battery_pct=report.battery_pct,
                ),
            )
        )
    accepted: list[tuple[int, Position, bool]] = []
    if positions:
        stored = await writer.write(actor.workspace_id, [p for _, p in positions])
        accepted = [
            (index, p, (p.vehicle_id, p.recorded_at) in stored.inserted) for index, p in positions
        ]
    rejected.sort(key=lambda r: r.index)
    return Ingested(accepted, rejected)


def raise_for_single(result: Ingested) -> None:
    """A single report that was refused is an error response of its own kind."""
    if not result.rejected:
        return
    refusal = result.rejected[0]
    if refusal.code == "FORBIDDEN":
        raise Forbidden(refusal.reason)
    if refusal.code == "NOT_FOUND":
        raise NotFound(refusal.reason)
    raise ValidationFailed(
        refusal.reason, details={"fields": [{"field": refusal.field, "message": refusal.reason}]}
    )
