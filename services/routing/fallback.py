"""The `routing` consumer: a failed quantum job leaves its route with a classical plan.

When a quantum job for a route fails and the route has no plan of its own (it is still a
draft), the route is optimized classically, as the operator would have done by hand."""

from __future__ import annotations

import logging
from uuid import UUID

from core.cache import Cache
from core.db import Database
from core.errors import DomainError
from core.events import Event
from core.jobs import JobQueue
from core.principal import SYSTEM_USER_ID, Principal
from models import OptimizationJob, Route
from models.enums import RouteStatus
from models.routing_inputs import OptimizeRequest
from services.receipts import first_deliveries
from services.routing.optimization import request_optimization

log = logging.getLogger(__name__)

GROUP = "routing"
TOPICS = ("quantum.job_failed",)


async def fall_back_to_classical(
    *, db: Database, cache: Cache, queue: JobQueue, events: list[Event]
) -> None:
    """For each failed quantum job of a route without a plan, request a classical plan."""
    for event in events:
        if event.event_type != "quantum.job_failed":
            continue
        try:
            await _fall_back(db=db, cache=cache, queue=queue, event=event)
        except DomainError as exc:
            # The route changed meanwhile (deleted, optimized): nothing to fall back to.
            # Only the receipt is kept, so that a redelivery does not try again.
            log.info(
                "no classical fallback", extra={"event_id": str(event.event_id), "reason": str(exc)}
            )
            async with db.session(event.workspace_id) as session:
                await first_deliveries(
                    session=session, group=GROUP, workspace_id=event.workspace_id, events=[event]
                )


async def _fall_back(*, db: Database, cache: Cache, queue: JobQueue, event: Event) -> None:
    async with db.session(event.workspace_id) as session:
        if not await first_deliveries(
            session=session, group=GROUP, workspace_id=event.workspace_id, events=[event]
        ):
            return
        job = await session.get(OptimizationJob, UUID(str(event.data.get("job_id"))))
        if job is None or job.route_id is None:
            return
        route = await session.get(Route, job.route_id)
        if route is None or route.deleted_at is not None or route.status != RouteStatus.DRAFT:
            return
        actor = Principal(job.requested_by or SYSTEM_USER_ID, event.workspace_id, None, "system")
        await request_optimization(
            session=session,
            actor=actor,
            route_id=route.id,
            data=OptimizeRequest(),
            cache=cache,
            queue=queue,
        )
