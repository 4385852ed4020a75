"""Job leases: a worker that claims a job renews its lease while it solves. A delivery that
finds a running job whose lease ran out takes it over (its worker was killed or lost); the
claim count fences the result, so only the latest claim saves one."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import col

from core.db import Database
from models import OptimizationJob
from models.enums import JobStatus

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 30.0
# A job whose worker vanished this many times fails instead of killing another worker.
MAX_CLAIMS = 3


@dataclass(frozen=True, slots=True)
class Claim:
    job_id: UUID
    workspace_id: UUID
    input: dict[str, Any]
    requested_by: UUID | None
    attempt: int


# The claims this process is working on, for handing them back when it stops.
active: dict[UUID, Claim] = {}


def lease_until(lease_s: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=lease_s)


def _held_by(claim: Claim) -> Any:
    return (
        sa.update(OptimizationJob)
        .where(
            col(OptimizationJob.id) == claim.job_id,
            col(OptimizationJob.status) == JobStatus.RUNNING,
            col(OptimizationJob.attempts) == claim.attempt,
        )
        .execution_options(synchronize_session=False)
    )


@contextlib.asynccontextmanager
async def keep_lease(db: Database, claim: Claim, lease_s: float) -> AsyncIterator[None]:
    """Renew the claim's lease every third of its length until the block ends."""

    async def renew() -> None:
        while True:
            await asyncio.sleep(lease_s / 3)
            try:
                async with db.session(claim.workspace_id) as session:
                    await session.execute(
                        _held_by(claim).values(lease_expires_at=lease_until(lease_s))
                    )
            except Exception as exc:  # the next round tries again; the lease has slack
                log.warning("lease renewal failed: %r", exc, extra={"job_id": str(claim.job_id)})

    active[claim.job_id] = claim
    renewer = asyncio.create_task(renew())
    try:
        yield
    finally:
        renewer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewer
        active.pop(claim.job_id, None)


async def hand_back(db: Database, claim: Claim) -> bool:
    """Return a claimed job to `pending` (a stopping worker), unless it finished or was taken
    over meanwhile; True when it was handed back."""
    async with db.session(claim.workspace_id) as session:
        result = await session.execute(
            _held_by(claim).values(status=JobStatus.PENDING, lease_expires_at=None)
        )
        return bool(getattr(result, "rowcount", 0))
