"""`/console`: the operations console's page and its settings, with a strict
Content-Security-Policy (its own scripts and styles only, no inline script)."""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OmniRoute console</title></head>
<body><p>The console was not built: it needs Node and npm (<code>make console</code>).
The API itself is up: GraphQL at <a href="/graphql">/graphql</a>, REST at
<a href="/api/v1/docs">/api/v1/docs</a>.</p></body></html>
"""


def console_policy(request: Request) -> str:
    images = "'self' data:"
    tiles = request.app.state.settings.map_style_url
    if tiles:
        parts = urlsplit(tiles)
        images += f" {parts.scheme}://{parts.netloc}"
    # Chromium counts a same-origin websocket as 'self'; older engines need it named.
    sockets = f"ws://{request.url.netloc} wss://{request.url.netloc}"
    return (
        f"default-src 'none'; script-src 'self'; style-src 'self'; img-src {images}; "
        f"connect-src 'self' {sockets}; font-src 'self'; base-uri 'none'; form-action 'self'; "
        "frame-ancestors 'none'"
    )


async def console_page(request: Request) -> Response:
    built = request.app.state.console_dir
    page = built / "index.html" if built is not None else None
    if page is None or not page.is_file():
        return HTMLResponse(NOT_BUILT, headers={"content-security-policy": console_policy(request)})
    return HTMLResponse(
        page.read_text(),
        headers={"content-security-policy": console_policy(request), "cache-control": "no-store"},
    )


async def console_config(request: Request) -> Response:
    return JSONResponse({"map_style_url": request.app.state.settings.map_style_url})


routes: list[BaseRoute] = [
    Route("/console", console_page, methods=["GET"]),
    Route("/console/config.json", console_config, methods=["GET"]),
]
