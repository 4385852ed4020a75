"""Authentication, rate limits and the role matrix for REST routes."""

from __future__ import annotations

from contextlib import AbstractContextManager
from uuid import UUID

import asyncpg
from starlette.requests import HTTPConnection

from core.context import current_user, current_workspace
from core.db import MemberCheck, member_refusals
from core.errors import Forbidden, Unauthorized, ValidationFailed
from core.principal import Principal
from core.tokens import AccessClaims
from models.permissions import Operation, allowed_roles, is_allowed
from services.identity.accounts import RateCharge, admit, authenticate, principal_of


def bearer_token(conn: HTTPConnection) -> str:
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def authorize(
    conn: HTTPConnection, operation: Operation, *, admitted: AccessClaims | None = None
) -> Principal:
    """The caller, authenticated, within its rate limits, and allowed `operation`; with
    `admitted` (the request's claims, already checked and charged), its membership only."""
    state = conn.app.state
    if admitted is not None:
        principal = await principal_of(db=state.db, claims=admitted)
    else:
        principal = await authenticate(
            db=state.db,
            security=state.security,
            token=bearer_token(conn),
            charge=RateCharge(state.settings),
            read_only=conn.scope.get("method") in ("GET", "HEAD"),
        )
    current_user.set(principal.user_id)
    current_workspace.set(principal.workspace_id)
    if not is_allowed(principal.role, operation):
        raise Forbidden(f"The {principal.role} role may not perform {operation.value}")
    return principal


async def admitted(conn: HTTPConnection) -> AccessClaims:
    """The first half of `authorize` for a hot read (member_fetch is the second): the token
    is valid, not revoked, and within its rate limits."""
    state = conn.app.state
    claims = await admit(
        security=state.security,
        token=bearer_token(conn),
        charge=RateCharge(state.settings),
        read_only=True,
    )
    current_user.set(claims.user_id)
    current_workspace.set(claims.workspace_id)
    return claims


async def member_fetch(
    conn: HTTPConnection, claims: AccessClaims, operation: Operation, query: str, *args: object
) -> list[asyncpg.Record]:
    """A hot read that is one statement checking the membership and the role itself
    (Database.member_fetch): one round trip, its check as fresh as the read. The token's
    role is not trusted: the database's is."""
    member = MemberCheck(claims.user_id, allowed_roles(operation))
    with _membership(operation):
        rows: list[asyncpg.Record] = await conn.app.state.db.member_fetch(
            query, claims.workspace_id, *args, member=member
        )
    return rows


async def member_read(
    conn: HTTPConnection, claims: AccessClaims, operation: Operation, statement: str, key: object
) -> list[asyncpg.Record]:
    """A hot read by key whose batch statement checks the membership and the role itself
    (Database.member_read): as `member_fetch`, its round trip shared with the same reads
    of other requests waiting at that moment."""
    member = MemberCheck(claims.user_id, allowed_roles(operation))
    with _membership(operation):
        return await conn.app.state.db.member_read(
            statement, claims.workspace_id, key, member=member
        )


def _membership(operation: Operation) -> AbstractContextManager[None]:
    return member_refusals(lambda role: f"The {role} role may not perform {operation.value}")


def path_uuid(conn: HTTPConnection, name: str) -> UUID:
    try:
        return UUID(conn.path_params[name])
    except ValueError:
        raise ValidationFailed.field(name, "must be a UUID") from None


def client_ip(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None
