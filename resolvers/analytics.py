"""The analytics reports (analyst and above), on the analytics database."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.permissions import Operation, requires
from schema.types.analytics import AnalyticsReport, report_query
from services.analytics.reports import GENERIC_PLANS, run_report

Ctx = Info[Context, None]
From = Annotated[
    datetime | None,
    strawberry.argument(name="from", description="Start of the range (default: `to` - 30 days)."),
]
GroupBy = Annotated[str, strawberry.argument(description="day, week, or the report's dimension.")]


def _report(name: str, description: str) -> Any:
    """One report's field: the same arguments and answer shape for every report."""

    async def resolve(
        info: Ctx, from_: From = None, to: datetime | None = None, group_by: GroupBy = "day"
    ) -> AnalyticsReport:
        actor = await info.context.principal()
        query = report_query(from_, to, group_by)
        async with info.context.analytics_db.session(
            actor.workspace_id, generic_plans=name in GENERIC_PLANS
        ) as session:
            report = await run_report(name, session=session, query=query)
        return AnalyticsReport.of(report.as_json(), report.as_of)

    return strawberry.field(
        resolver=resolve, extensions=requires(Operation.ANALYTICS_READ), description=description
    )


@strawberry.type
class AnalyticsQuery:
    analytics_routes: AnalyticsReport = _report(
        "routes",
        "Routes by status, planned against actual, on-time stops, deviations; "
        "group_by day, week or vehicle.",
    )
    analytics_fleet: AnalyticsReport = _report(
        "fleet",
        "Fleet utilization, GPS distance, idle vehicles, incident response times; "
        "group_by day, week, vehicle or vehicle_type.",
    )
    analytics_efficiency: AnalyticsReport = _report(
        "efficiency",
        "Distance and time optimization saved, solver time and cache hits; "
        "group_by day, week or solver.",
    )
    analytics_quantum: AnalyticsReport = _report(
        "quantum",
        "Quantum and hybrid jobs against the classical answer; "
        "group_by day, week, mode or backend.",
    )
