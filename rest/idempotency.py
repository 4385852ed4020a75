"""`Idempotency-Key` on the POSTs that start work or create things a retry must not
duplicate: the same key and body within 24 hours get the first answer (status and body)
without the work being done again; the same key with another body is a 422. Keys belong to
one user in one workspace."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response

from core.errors import Conflict, DomainError, Unauthorized, ValidationFailed
from core.idempotency import PENDING_S, IdempotencyStore, Stored
from rest.auth import bearer_token
from rest.envelope import failure

Endpoint = Callable[[Request], Awaitable[Response]]
HEADER = "idempotency-key"
MAX_KEY_LENGTH = 255
WAIT_POLL_S = 0.05
# What a retry should be able to change: rate limits, a token refreshed meanwhile, a role
# granted meanwhile, outages.
_NOT_KEPT = {401, 403, 429}


def _fingerprint(request: Request, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method, request.url.path, request.url.query):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


async def _answer(endpoint: Endpoint, request: Request) -> Response:
    try:
        return await endpoint(request)
    except DomainError as exc:
        return failure(exc)


def _replay(stored: Stored) -> Response:
    assert stored.status is not None
    return Response(
        stored.body,
        status_code=stored.status,
        media_type=stored.media_type,
        headers={"idempotent-replayed": "true"},
    )


async def _wait_for_first(store: IdempotencyStore, key: str, fingerprint: str) -> Stored | None:
    """What the first request answered, once it has; None when its claim was released."""
    deadline = time.monotonic() + PENDING_S
    while time.monotonic() < deadline:
        held = await store.claim(key, fingerprint)
        if held is None or held.status is not None:
            return held
        if held.fingerprint != fingerprint:
            return held
        await asyncio.sleep(WAIT_POLL_S)
    raise Conflict("A request with this Idempotency-Key is still being processed")


def idempotent(endpoint: Endpoint) -> Endpoint:
    """`endpoint`, answering a repeated Idempotency-Key from the store."""

    async def wrapper(request: Request) -> Response:
        key = request.headers.get(HEADER)
        if key is None:
            return await endpoint(request)
        if not 0 < len(key) <= MAX_KEY_LENGTH:
            raise ValidationFailed.field(
                "Idempotency-Key", f"must be 1 to {MAX_KEY_LENGTH} characters"
            )
        state = request.app.state
        try:
            claims = state.security.tokens.verify_access(bearer_token(request))
        except Unauthorized:
            return await endpoint(request)  # it answers 401 itself
        scoped = (
            f"{claims.workspace_id}:{claims.user_id}:{hashlib.sha256(key.encode()).hexdigest()}"
        )
        fingerprint = _fingerprint(request, await request.body())
        store: IdempotencyStore = state.idempotency
        held = await store.claim(scoped, fingerprint)
        if held is not None and held.status is None and held.fingerprint == fingerprint:
            held = await _wait_for_first(store, scoped, fingerprint)
        if held is not None:
            if held.fingerprint != fingerprint:
                raise ValidationFailed.field(
                    "Idempotency-Key", "was already used with a different request body"
                )
            if held.status is not None:
                return _replay(held)
        try:
            response = await _answer(endpoint, request)
        except BaseException:
            await store.release(scoped)
            raise
        if response.status_code >= 500 or response.status_code in _NOT_KEPT:
            await store.release(scoped)
            return response
        await store.finish(
            scoped,
            Stored(fingerprint, response.status_code, bytes(response.body), "application/json"),
        )
        return response

    wrapper.__name__ = endpoint.__name__
    wrapper.__doc__ = endpoint.__doc__
    return wrapper
