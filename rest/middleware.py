"""Request context: the request id (echoed as X-Request-ID), the security headers, latency
metrics, and a last line of defence that turns any unhandled error into the envelope without a
trace."""

from __future__ import annotations

import os
import re
import time

from prometheus_client import Histogram
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.context import RequestInfo, request_info
from core.metrics import HTTP_LATENCY
from rest.envelope import unexpected

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")
# Every response: no MIME sniffing, no referrer leaking ids in URLs, never inside a frame.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
)


def _new_request_id() -> str:
    """A random (version 4) UUID's text, as str(uuid.uuid4()) writes it at a fifth of the
    cost: one per request."""
    h = os.urandom(16).hex()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


# The variant's two bits (10) over the digit's low two bits.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


_LATENCIES: dict[tuple[str, str, int], Histogram] = {}


def _latency(method: str, route: str, status: int) -> Histogram:
    """HTTP_LATENCY's series for a route: a dict look-up instead of labels()'s checks and
    lock on every response (routes are templates, so the series are few)."""
    key = (method, route, status)
    series = _LATENCIES.get(key)
    if series is None:
        series = _LATENCIES[key] = HTTP_LATENCY.labels(method, route, str(status))
    return series


def _route_template(scope: Scope) -> str:
    """The matched route's template, a label with few values: `/api/v1/vehicles/{vehicle_id}`;
    a mount none of whose routes matched (a 404 under `/api/v1`, a console asset) is the
    mount's `/{path}`, so that paths a client makes up do not each become a series."""
    route = scope.get("route")
    root: str = scope.get("root_path", "")
    if isinstance(route, Mount):
        return f"{root}/{{path}}"  # routing has moved the mount's path into root_path
    if isinstance(route, Route | WebSocketRoute):
        return root + route.path
    return "<unmatched>"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, hsts_max_age_s: int = 0) -> None:
        self.app = app
        # HSTS only on what came over TLS: uvicorn's own certificate, or a trusted proxy's
        # X-Forwarded-Proto (FORWARDED_ALLOW_IPS), both of which set the scope's scheme.
        self._tls_headers = SECURITY_HEADERS + (
            ((b"strict-transport-security", f"max-age={hsts_max_age_s}".encode()),)
            if hsts_max_age_s
            else ()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        supplied, user_agent = "", None
        for name, value in scope["headers"]:  # only two are needed: no dict of them all
            if name == b"x-request-id":
                supplied = value.decode("latin-1")
            elif name == b"user-agent":
                user_agent = value.decode("latin-1")
        request_id = supplied if _CLIENT_REQUEST_ID.match(supplied) else _new_request_id()
        client = scope.get("client")
        token = request_info.set(
            RequestInfo(
                request_id=request_id,
                ip_address=client[0] if client else None,
                user_agent=user_agent,
            )
        )
        status = 500
        started_response = False
        started = time.perf_counter()
        extra = self._tls_headers if scope.get("scheme") in ("https", "wss") else SECURITY_HEADERS

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                started_response = True
                status = message["status"]
                message.setdefault("headers", [])
                headers = message["headers"]
                # A page with its own policy (the console, the reference) keeps it whole.
                own_csp = any(name == b"content-security-policy" for name, _ in headers)
                message["headers"] = [
                    *headers,
                    (b"x-request-id", request_id.encode("latin-1")),
                    *(h for h in extra if not (own_csp and h[0] == b"content-security-policy")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            if scope["type"] != "http" or started_response:
                raise
            await unexpected(exc)(scope, receive, send_with_id)
        finally:
            if scope["type"] == "http":
                _latency(scope["method"], _route_template(scope), status).observe(
                    time.perf_counter() - started
                )
            request_info.reset(token)
