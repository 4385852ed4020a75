"""Every `/api/v1` route; each module of this package contributes its own list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from rest import (
    analytics,
    docs,
    drivers,
    experience,
    identity,
    incidents,
    locations,
    quantum,
    routing,
    tracking,
    vehicles,
    webhooks,
)
from rest.envelope import success
from services.health import code_head_revision


async def api_root(request: Request) -> JSONResponse:
    return success({"name": "OmniRoute", "version": "v1", "schema_revision": code_head_revision()})


# Starlette tries routes in order: the position reports, by far the most frequent requests,
# are matched first.
routes: list[BaseRoute] = [
    *tracking.routes,
    Route("/", api_root, methods=["GET"]),
    *identity.routes,
    *vehicles.routes,
    *drivers.routes,
    *locations.routes,
    *routing.routes_,
    *quantum.routes,
    *webhooks.routes,
    *incidents.routes,
    *experience.routes,
    *analytics.routes,
    *docs.routes,
]
