"""A backing service that is down or cut the connection (Redis stopped, PostgreSQL restarted
or a backend terminated) is the client's cue to retry: such a failure is answered
`503 SERVICE_UNAVAILABLE` naming the service, never `500` with a trace."""

from __future__ import annotations

import logging

import asyncpg
import redis.exceptions
from sqlalchemy import exc as sa_exc

from core.connection_pool import PoolTimeout
from core.errors import ServiceUnavailable

log = logging.getLogger(__name__)

RETRY_AFTER_S = 5
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)
_PG_DOWN = (
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.ConnectionFailureError,
    # A pooled asyncpg connection whose server end went away mid-operation reports this.
    asyncpg.exceptions.InternalClientError,
    # The hot reads' pool had no connection free for its whole acquire timeout.
    PoolTimeout,
)


def _service(exc: BaseException) -> str | None:
    if isinstance(exc, REDIS_DOWN):
        return "redis"
    if isinstance(exc, (sa_exc.DisconnectionError, *_PG_DOWN)):
        return "database"
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated:
            return "database"
        cause = exc.orig.__cause__ if exc.orig is not None else None
        if isinstance(exc.orig, (*_PG_DOWN, ConnectionError)) or isinstance(cause, _PG_DOWN):
            return "database"
    return None


def as_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 for a lost backing service, or None for any other error (a bug)."""
    service = _service(exc)
    if service is None:
        return None
    log.warning("%s unavailable: %r", service, exc)
    return ServiceUnavailable(
        f"The {service} is unavailable; try again shortly"
        if service == "database"
        else "Redis is unavailable; try again shortly",
        details={"service": service},
        headers={"Retry-After": str(RETRY_AFTER_S)},
    )
