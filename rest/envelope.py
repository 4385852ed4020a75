"""The spec's response envelope (section 5) and the one mapping from errors to responses."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from starlette.responses import JSONResponse

from core import jsontext
from core.context import current_request_id
from core.errors import DomainError, InternalError
from core.outages import as_unavailable

log = logging.getLogger(__name__)


class EnvelopeResponse(JSONResponse):
    """Rendered by core.jsontext (orjson)."""

    def render(self, content: Any) -> bytes:
        return jsontext.dumps(content)


class _Clock:
    """The envelope's timestamp is to the second: written once a second, not per response."""

    def __init__(self) -> None:
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(time.time())
        if second != self._second:
            moment = datetime.fromtimestamp(second, UTC)
            self._text, self._second = moment.isoformat().replace("+00:00", "Z"), second
        return self._text


_clock = _Clock()


def _meta(**extra: Any) -> dict[str, Any]:
    return {"request_id": current_request_id(), "timestamp": _clock.now(), **extra}


def pagination(*, page: int, per_page: int, total: int) -> dict[str, int]:
    return {"page": page, "per_page": per_page, "total": total}


def success(
    data: Any,
    *,
    status_code: int = 200,
    pagination: dict[str, Any] | None = None,
    meta: dict[str, Any] | None = None,
) -> JSONResponse:
    extra = {**(meta or {}), **({"pagination": pagination} if pagination is not None else {})}
    return EnvelopeResponse(
        {"success": True, "data": data, "meta": _meta(**extra)}, status_code=status_code
    )


def failure(error: DomainError) -> JSONResponse:
    body = {
        "success": False,
        "error": {"code": error.code.value, "message": error.message, "details": error.details},
        "meta": _meta(),
    }
    return EnvelopeResponse(body, status_code=error.http_status, headers=error.headers)


def unexpected(exc: BaseException) -> JSONResponse:
    """A bug: logged with its trace, answered without one. A lost backing service: 503."""
    outage = as_unavailable(exc)
    if outage is not None:
        return failure(outage)
    log.error("unhandled error", exc_info=exc)
    return failure(InternalError("An unexpected error occurred; it has been logged."))
