"""Authentication, rate limits and the role matrix for REST routes."""

from __future__ import annotations

from uuid import UUID

from starlette.requests import HTTPConnection

from core.context import current_user, current_workspace
from core.errors import Forbidden, Unauthorized, ValidationFailed
from core.principal import Principal
from models.permissions import Operation, is_allowed
from services.identity.accounts import RateCharge, authenticate


def bearer_token(conn: HTTPConnection) -> str:
    scheme, _, token = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("A bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return token.strip()


async def authorize(conn: HTTPConnection, operation: Operation) -> Principal:
    """The caller, authenticated, within its rate limits, and allowed `operation`."""
    state = conn.app.state
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


def path_uuid(conn: HTTPConnection, name: str) -> UUID:
    try:
        return UUID(conn.path_params[name])
    except ValueError:
        raise ValidationFailed.field(name, "must be a UUID") from None


def client_ip(conn: HTTPConnection) -> str | None:
    return conn.client.host if conn.client else None
