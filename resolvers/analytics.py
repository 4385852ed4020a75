"""The analytics reports (analyst and above), on the analytics database."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry
from strawberry.types import Info

from models.analytics_inputs import ReportQuery
from models.permissions import Operation
from schema.context import Context
from schema.permissions import requires
from schema.types.analytics import AnalyticsReport
from services.analytics.reports import run_report

Ctx = Info[Context, None]
From = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Start of the range (default: `to` - 30 days)."),
]
GroupBy = Annotated[str, strawberry.argument(description="day, week, or the report's dimension.")]


async def _answer(
    info: Ctx, name: str, from_: datetime | None, to: datetime | None, group_by: str
) -> AnalyticsReport:
    actor = await info.context.principal()
    query = ReportQuery(from_=from_, to=to, group_by=group_by)
    async with info.context.analytics_db.session(actor.workspace_id) as session:
        report = await run_report(name, session=session, query=query)
    return AnalyticsReport.of(report.as_json(), report.as_of)


@strawberry.type
class AnalyticsQuery:
    @strawberry.field(
        extensions=requires(Operation.ANALYTICS_READ),
        description="Routes by status, planned against actual, on-time stops, deviations; "
        "group_by day, week or vehicle.",
    )
    async def analytics_routes(
        self,
        info: Ctx,
        from_: From = None,
        to: datetime | None = None,
        group_by: GroupBy = "day",
    ) -> AnalyticsReport:
        return await _answer(info, "routes", from_, to, group_by)

    @strawberry.field(
        extensions=requires(Operation.ANALYTICS_READ),
        description="Fleet utilization, GPS distance, idle vehicles, incident response times; "
        "group_by day, week, vehicle or vehicle_type.",
    )
    async def analytics_fleet(
        self,
        info: Ctx,
        from_: From = None,
        to: datetime | None = None,
        group_by: GroupBy = "day",
    ) -> AnalyticsReport:
        return await _answer(info, "fleet", from_, to, group_by)

    @strawberry.field(
        extensions=requires(Operation.ANALYTICS_READ),
        description="What optimization saved, solver time and cache hits; "
        "group_by day, week or solver.",
    )
    async def analytics_efficiency(
        self,
        info: Ctx,
        from_: From = None,
        to: datetime | None = None,
        group_by: GroupBy = "day",
    ) -> AnalyticsReport:
        return await _answer(info, "efficiency", from_, to, group_by)

    @strawberry.field(
        extensions=requires(Operation.ANALYTICS_READ),
        description="Quantum and hybrid jobs against the classical answer; "
        "group_by day, week, mode or backend.",
    )
    async def analytics_quantum(
        self,
        info: Ctx,
        from_: From = None,
        to: datetime | None = None,
        group_by: GroupBy = "day",
    ) -> AnalyticsReport:
        return await _answer(info, "quantum", from_, to, group_by)
