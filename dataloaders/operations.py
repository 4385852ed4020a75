"""Operations loaders: the units sent to each incident."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from models import IncidentUnit


async def units_by_incident(
    session: AsyncSession, keys: Sequence[UUID]
) -> list[list[IncidentUnit] | None]:
    rows = await session.exec(
        select(IncidentUnit)
        .where(col(IncidentUnit.incident_id).in_(keys))
        .order_by(col(IncidentUnit.dispatched_at), col(IncidentUnit.id))
    )
    grouped: dict[UUID, list[IncidentUnit]] = defaultdict(list)
    for unit in rows:
        grouped[unit.incident_id].append(unit)
    return [grouped.get(k, []) for k in keys]
