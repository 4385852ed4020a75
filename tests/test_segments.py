"""rest.segments: routing by first segment answers as one Starlette Router over the same
routes would, for routes of a segment, routes whose first segment is a parameter, 404s,
405s and the trailing-slash redirect."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from rest.segments import SegmentRouter, first_segment


async def named(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.scope["route"].name)


ROUTES = [
    Route("/vehicles", named, methods=["GET"], name="list"),
    Route("/vehicles/{vehicle_id}", named, methods=["GET", "PATCH"], name="one"),
    Route("/{kind}/summary", named, methods=["GET"], name="summary"),
    Route("/drivers", named, methods=["GET"], name="drivers"),
]


def client() -> httpx.AsyncClient:
    app = Starlette(routes=[Mount("/api/v1", app=SegmentRouter(ROUTES))])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_first_segments() -> None:
    assert [first_segment(r) for r in ROUTES] == ["vehicles", "vehicles", None, "drivers"]
    assert first_segment(Mount("/", routes=[])) is None


async def test_it_answers_as_one_router_over_the_same_routes() -> None:
    async with client() as http:
        assert (await http.get("/api/v1/vehicles")).text == "list"
        assert (await http.get("/api/v1/vehicles/7")).text == "one"
        assert (await http.get("/api/v1/drivers")).text == "drivers"
        # A parameter first segment is tried under every segment, and under none named.
        assert (await http.get("/api/v1/drivers/summary")).text == "summary"
        assert (await http.get("/api/v1/incidents/summary")).text == "summary"
        assert (await http.get("/api/v1/nothing")).status_code == 404
        refused = await http.delete("/api/v1/vehicles/7")
        assert refused.status_code == 405
        assert set(refused.headers["allow"].split(", ")) == {"GET", "HEAD", "PATCH"}
        moved = await http.get("/api/v1/vehicles/", follow_redirects=False)
        assert moved.status_code == 307
        assert moved.headers["location"].endswith("/api/v1/vehicles")
