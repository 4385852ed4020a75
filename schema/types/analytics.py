"""GraphQL shapes of the analytics reports."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON

from models.analytics_inputs import ReportQuery


@strawberry.type(
    description="One analytics report: totals over the range and groups by day, week or a "
    "dimension, read from read models as fresh as `asOf` (the newest event folded in)."
)
class AnalyticsReport:
    report: str
    from_: datetime = strawberry.field(name="from")
    to: datetime
    group_by: str
    as_of: datetime | None
    totals: JSON
    groups: list[JSON]

    @classmethod
    def of(cls, body: dict[str, Any], as_of: datetime | None) -> AnalyticsReport:
        return cls(
            report=body["report"],
            from_=datetime.fromisoformat(body["from"]),
            to=datetime.fromisoformat(body["to"]),
            group_by=body["group_by"],
            as_of=as_of,
            totals=body["totals"],
            groups=body["groups"],
        )


def report_query(from_: datetime | None, to: datetime | None, group_by: str) -> ReportQuery:
    """A report's arguments as the request model the reports validate with."""
    return ReportQuery(from_=from_, to=to, group_by=group_by)
