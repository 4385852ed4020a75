"""Routing `/api/v1` by the path's first segment before its templates.

Starlette's Router tries its routes in order, one template match each, so a route far down
the list paid for every route above it (the vehicle read passed 24). `SegmentRouter` keeps
one Starlette Router per first segment (`vehicles` in `/vehicles/{vehicle_id}`), holding that
segment's routes and the routes whose first segment is a parameter, in their original order.
A request goes to its segment's Router, or to the parameter routes' Router for a segment no
route names. Each is a whole Starlette Router, so 404s, 405s and the trailing-slash redirect
behave as before: a path and its toggled slash share their first segment."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.routing import BaseRoute, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send


def first_segment(route: BaseRoute) -> str | None:
    """The literal first segment of a route's path; None where that segment (or the whole
    path) is a parameter, or the route has no path."""
    if not isinstance(route, Route | WebSocketRoute | Mount):
        return None
    if isinstance(route, Mount) and not route.path.strip("/"):
        return None  # a mount at the root takes every segment
    segment = route.path.lstrip("/").split("/", 1)[0]
    return None if "{" in segment else segment


def _route_path(scope: Scope) -> str:
    """The path below the mount this router sits in (as Starlette's routes match it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :]
    return path


class SegmentRouter:
    """An ASGI app routing as a Starlette Router over `routes` would, each request matched
    against the routes of its first segment only. `routes` lists them all, as Mount and the
    method listing of a 405 read it."""

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self.routes = list(routes)
        keyed = [(first_segment(route), route) for route in self.routes]
        self._anywhere = Router(routes=[r for segment, r in keyed if segment is None])
        self._by_segment = {
            segment: Router(routes=[r for s, r in keyed if s in (segment, None)])
            for segment in {s for s, _ in keyed if s is not None}
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        segment = _route_path(scope).lstrip("/").split("/", 1)[0]
        await self._by_segment.get(segment, self._anywhere)(scope, receive, send)
