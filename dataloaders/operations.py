"""Operations loaders: the units sent to each incident."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from dataloaders.grouping import grouped
from models import IncidentUnit


async def units_by_incident(
    session: AsyncSession, keys: Sequence[UUID]
) -> list[list[IncidentUnit] | None]:
    rows = await session.exec(
        select(IncidentUnit)
        .where(col(IncidentUnit.incident_id).in_(keys))
        .order_by(col(IncidentUnit.dispatched_at), col(IncidentUnit.id))
    )
    return grouped(rows, lambda row: row.incident_id, keys)
