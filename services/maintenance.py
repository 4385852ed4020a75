"""Housekeeping that keeps the database ready for tomorrow's data."""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

PARTITIONED_TABLES = ("live_vehicle_positions", "analytics_events")


async def ensure_partitions(*, session: AsyncSession, months_ahead: int) -> list[str]:
    """Create the monthly partitions up to `months_ahead` months ahead; returns new ones."""
    created: list[str] = []
    for parent in PARTITIONED_TABLES:
        result = await session.execute(
            text("SELECT ensure_monthly_partitions(:parent, :months)"),
            {"parent": parent, "months": months_ahead},
        )
        created.extend(result.scalars().all())
    return created
