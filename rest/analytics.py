"""`/api/v1/analytics/{routes,fleet,efficiency,quantum}` (analyst and above): reports read
from the analytics read models, on the analytics database (a replica when configured)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from models.analytics_inputs import ReportQuery
from models.permissions import Operation
from rest.auth import authorize
from rest.envelope import success
from rest.parsing import parse_query
from rest.serialize import to_json
from services.analytics.reports import GENERIC_PLANS, REPORTS, run_report


def _report(name: str) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        actor = await authorize(request, Operation.ANALYTICS_READ)
        query = parse_query(request, ReportQuery)
        async with request.app.state.analytics_db.session(
            actor.workspace_id, generic_plans=name in GENERIC_PLANS
        ) as session:
            report = await run_report(name, session=session, query=query, field_prefix="query.")
        return success(report.as_json(), meta={"as_of": to_json(report.as_of)})

    endpoint.__name__ = f"{name}_report"
    return endpoint


routes: list[BaseRoute] = [
    Route(f"/analytics/{name}", _report(name), methods=["GET"]) for name in REPORTS
]
