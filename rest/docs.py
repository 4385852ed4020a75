"""`/api/v1/openapi.json` and `/api/v1/docs`: the document and its reference page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from core import jsontext
from rest.openapi import openapi_document

CONSOLE_ASSETS = "/console/assets"
# The page's own script and styles only: Swagger UI needs no inline script, but sets styles.
DOCS_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'"
)
_PAGE = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>OmniRoute REST API</title>
<link rel="stylesheet" href="{CONSOLE_ASSETS}/docs/swagger-ui.css">
<script src="{CONSOLE_ASSETS}/docs/swagger-ui-bundle.js" defer></script>
<script src="{CONSOLE_ASSETS}/docs/docs.js" defer></script>
</head>
<body><div id="reference"></div></body>
</html>
"""
_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>OmniRoute REST API</title></head>
<body><p>The reference page was not built (it needs Node and npm: <code>make console</code>).
The document itself is at <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>.</p></body>
</html>
"""


class OpenAPIResponse(JSONResponse):
    media_type = "application/json"

    def render(self, content: object) -> bytes:
        return jsontext.dumps(content)


async def openapi_json(request: Request) -> Response:
    return OpenAPIResponse(openapi_document())


async def docs_page(request: Request) -> Response:
    built = (
        request.app.state.console_dir is not None
        and (request.app.state.console_dir / "docs" / "swagger-ui-bundle.js").is_file()
    )
    return HTMLResponse(
        _PAGE if built else _NOT_BUILT, headers={"content-security-policy": DOCS_CSP}
    )


routes: list[BaseRoute] = [
    Route("/openapi.json", openapi_json, methods=["GET"]),
    Route("/docs", docs_page, methods=["GET"]),
]
