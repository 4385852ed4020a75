"""Reading the live state: a vehicle's latest position and the active deviations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.cache import Cache
from core.principal import Principal
from models import RouteDeviation
from models.geo import GeoPoint
from services.fleet.vehicles import get_vehicle
from services.tracking.feed import hot_key


@dataclass(frozen=True, slots=True)
class Latest:
    vehicle_id: UUID
    position: list[float] | None
    speed: float | None
    heading: float | None
    recorded_at: datetime | None
    age_s: float | None
    source: str


async def latest_position(
    *, session: AsyncSession, cache: Cache, actor: Principal, vehicle_id: UUID
) -> Latest:
    """From the hot copy when there is one, else from the vehicle row."""
    vehicle = await get_vehicle(session=session, actor=actor, vehicle_id=vehicle_id)
    hot: dict[str, Any] | None = await cache.get(hot_key(actor.workspace_id, vehicle_id))
    now = datetime.now(UTC)
    if hot is not None:
        at = datetime.fromisoformat(hot["recorded_at"])
        return Latest(
            vehicle.id,
            hot["position"],
            hot["speed"],
            hot["heading"],
            at,
            (now - at).total_seconds(),
            "live",
        )
    point = GeoPoint.of(vehicle.last_location)
    stored_at = vehicle.last_location_at
    return Latest(
        vehicle.id,
        list(point.coordinates) if point else None,
        None,
        None,
        stored_at,
        (now - stored_at).total_seconds() if stored_at else None,
        "stored",
    )


async def active_deviations(*, session: AsyncSession, actor: Principal) -> list[RouteDeviation]:
    rows = await session.exec(
        select(RouteDeviation)
        .where(col(RouteDeviation.cleared_at).is_(None))
        .order_by(col(RouteDeviation.started_at).desc())
    )
    return list(rows)
