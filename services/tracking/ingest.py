"""Position ingestion: validate each report, check who may report for which vehicle, and
hand the good ones to the writer. In a batch the good positions are kept and each bad one
is reported by its index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import TypeAdapter, ValidationError

from core.errors import Forbidden, NotFound, ValidationFailed
from core.principal import Principal
from models.enums import UserRole
from models.tracking_inputs import (
    MAX_FUTURE,
    NOT_FINITE,
    RANGE_REASONS,
    PositionReport,
    implausible,
)
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


_RANGE_ERRORS = {"greater_than", "greater_than_equal", "less_than", "less_than_equal"}


def _rejection(index: int, exc: ValidationError) -> Rejected:
    """The first problem of a report, with the field it is about."""
    err = exc.errors()[0]
    message = err["msg"].removeprefix("Value error, ")
    field = ".".join(str(p) for p in err["loc"])
    if not field and ": " in message:
        field, message = message.split(": ", 1)
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "finite_number":
        message = NOT_FINITE
    elif err["type"] in _RANGE_ERRORS and field in RANGE_REASONS:
        message = RANGE_REASONS[field]
    return Rejected(index, field or "position", f"{field}: {message}" if field else message)


async def ingest(*, writer: PositionWriter, actor: Principal, reports: list[Any]) -> Ingested:
    parsed, rejected = _parse(reports)
    accepted: list[tuple[int, Position, bool]] = []
    if parsed:
        now = datetime.now(UTC)
        positions = [_position(report, now) for _, report in parsed]
        # Operators and admins report for any live vehicle of the workspace (telematics
        # integrations); a driver only for the vehicle assigned to them. The writer checks
        # both in the transaction that stores the positions.
        driver = actor.role == UserRole.DRIVER.value
        written = await writer.write(
            actor.workspace_id, positions, reporter=actor.user_id if driver else None
        )
        for n, ((index, report), p) in enumerate(zip(parsed, positions, strict=True)):
            if n in written.refused:
                rejected.append(_refused(index, report, driver))
            else:
                accepted.append((index, p, written.is_new(p)))
    rejected.sort(key=lambda r: r.index)
    return Ingested(accepted, rejected)


_REPORTS = TypeAdapter(list[PositionReport])


def _parse(reports: list[Any]) -> tuple[list[tuple[int, PositionReport]], list[Rejected]]:
    """All reports in one validation call when they are well formed (the common case);
    else each on its own, so that every bad one gets its reason."""
    parsed: list[tuple[int, PositionReport]] = []
    rejected: list[Rejected] = []
    try:
        parsed = list(enumerate(_REPORTS.validate_python(reports)))
    except ValidationError:
        for index, raw in enumerate(reports):
            try:
                parsed.append((index, PositionReport.model_validate(raw)))
            except ValidationError as exc:
                rejected.append(_rejection(index, exc))
    latest = datetime.now(UTC) + MAX_FUTURE
    plausible: list[tuple[int, PositionReport]] = []
    for index, report in parsed:
        problem = implausible(report, latest)
        if problem is None:
            plausible.append((index, report))
        else:
            field, why = problem
            rejected.append(Rejected(index, field, f"{field}: {why}"))
    return plausible, rejected


def _position(report: PositionReport, now: datetime) -> Position:
    return Position(
        vehicle_id=report.vehicle_id,
        recorded_at=report.recorded_at or now,
        lng=report.lng,
        lat=report.lat,
        speed_kmh=report.speed,
        heading=report.heading,
        accuracy_m=report.accuracy_m,
        battery_pct=report.battery_pct,
    )


def _refused(index: int, report: PositionReport, driver: bool) -> Rejected:
    if driver:
        return Rejected(
            index,
            "vehicle_id",
            "a driver reports only for the vehicle assigned to them",
            "FORBIDDEN",
        )
    return Rejected(index, "vehicle_id", f"vehicle {report.vehicle_id} does not exist", "NOT_FOUND")


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
