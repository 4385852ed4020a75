"""Job leases, as the worker side sees them: a delivery takes over a job whose lease ran
out, the lost claim's plan is discarded, a live lease sends the delivery back for later, and
a job that keeps losing its workers fails and frees its route."""

from __future__ import annotations

from uuid import UUID

import pytest

from core.jobs import JobLeaseHeld
from models.enums import JobStatus, RouteStatus
from services.routing import leases, optimization
from tests.test_routing_service import RecordingChannel, World, w

__all__ = ["w"]


async def expire_lease(w: World, job_id: UUID) -> None:
    await w.sql(
        "UPDATE optimization_jobs SET lease_expires_at = now() - interval '1 second'"
        " WHERE id = :j RETURNING id",
        j=job_id,
    )


async def claim(w: World, job_id: UUID) -> leases.Claim | None:
    return await optimization.claim_job(
        db=w.db, job_id=job_id, workspace_id=w.actor.workspace_id, lease_s=60
    )


async def test_a_taken_over_job_saves_the_latest_claims_plan_only(w: World) -> None:
    route_id = await w.route()
    job_id = (await w.optimize(route_id)).job.id
    lost = await claim(w, job_id)
    assert lost is not None and lost.attempt == 1
    # A second delivery while the first worker still renews its lease: later, not now.
    with pytest.raises(JobLeaseHeld) as held:
        await claim(w, job_id)
    assert 0 < held.value.retry_after_s <= 60

    await expire_lease(w, job_id)
    assert (await w.run(job_id)) == JobStatus.COMPLETED
    job = await w.job(job_id)
    assert (job.attempts, job.lease_expires_at) == (2, None)
    saved = (await w.detail(route_id)).route.updated_at

    # The worker presumed gone comes back and finishes: its plan is not saved.
    status = await optimization._solve_and_save(
        db=w.db, cache=w.cache, channel=RecordingChannel(), claim=lost
    )
    assert status == JobStatus.COMPLETED
    assert (await w.detail(route_id)).route.updated_at == saved
    events = await w.sql(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'route.optimized'"
    )
    assert events[0][0] == 1


async def test_a_job_that_loses_its_worker_three_times_fails_and_frees_its_route(
    w: World,
) -> None:
    route_id = await w.route()
    job_id = (await w.optimize(route_id)).job.id
    for attempt in range(1, leases.MAX_CLAIMS + 1):
        taken = await claim(w, job_id)
        assert taken is not None and taken.attempt == attempt
        await expire_lease(w, job_id)
    assert await claim(w, job_id) is None
    job = await w.job(job_id)
    assert job.status == JobStatus.FAILED
    assert job.error_message == "OPTIMIZATION_FAILED: the worker solving it stopped 3 times"
    assert await w.status(route_id) == RouteStatus.DRAFT
    failed = await w.sql(
        "SELECT count(*) FROM analytics_events WHERE event_type = 'route.optimization_failed'"
    )
    assert failed[0][0] == 1
    # A delivery after that finds nothing to do.
    assert await w.run(job_id) is None
