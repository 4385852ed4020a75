"""The typed context every resolver receives."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.db import Database, MemberCheck, NotAMember, RoleRefused, SharedRead
from core.errors import Forbidden, Unauthorized
from core.principal import Principal
from core.runtime import Security
from core.settings import Settings
from dataloaders import DataLoaders

# The token, and what the request costs against the rate limits (0: charged elsewhere).
Authenticator = Callable[[str, int], Awaitable[Principal]]
Charger = Callable[[Principal, int], Awaitable[None]]
Admission = Callable[[Principal], Awaitable[bool]]
log = logging.getLogger(__name__)


async def _always(principal: Principal) -> bool:
    return True


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    db: Database
    # Where analytics reports read: a replica when ANALYTICS_DATABASE_URL is set.
    analytics_db: Database
    security: Security
    loaders: DataLoaders
    authenticator: Authenticator
    charge: Charger
    connection_params: dict[str, object] = field(default_factory=dict)
    # Whether a principal's session still stands (long-lived websockets check it).
    admitted: Admission = _always
    _principal: Principal | None = None
    # Set for the length of a query operation: its reads share one transaction.
    _sharing: bool = False
    _shared: SharedRead | None = None

    def __post_init__(self) -> None:
        self.loaders.reader = self.read

    def bearer_token(self) -> str | None:
        header = self.request.headers.get("authorization", "")
        if not header:
            raw = self.connection_params.get("Authorization") or self.connection_params.get(
                "authorization"
            )
            header = raw if isinstance(raw, str) else ""
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    async def principal(self) -> Principal:
        """The authenticated caller (once per request), or UNAUTHORIZED."""
        if self._principal is None:
            return await self._authenticate(0)
        return self._principal

    async def charged_principal(self, cost: int) -> Principal:
        """The caller, with `cost` charged to its rate limits: in the same round trip to
        Redis as the revocation check when the request is not yet authenticated."""
        if self._principal is None:
            return await self._authenticate(cost)
        await self.charge(self._principal, cost)
        return self._principal

    async def _authenticate(self, cost: int) -> Principal:
        token = self.bearer_token()
        if token is None:
            raise Unauthorized("A bearer token is required")
        self._principal = await self.authenticator(token, cost)
        self.loaders.workspace_id = self._principal.workspace_id
        return self._principal

    @asynccontextmanager
    async def read(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection in a read-only transaction scoped to the caller's workspace, opened
        by the statement that checks the caller is still an active member with the role
        the request was authorized with (else UNAUTHORIZED or FORBIDDEN). In a query
        operation it is the operation's one transaction, shared by its resolvers and
        dataloaders; elsewhere (mutations, subscriptions) a transaction of its own."""
        principal = await self.principal()
        member = MemberCheck(principal.user_id, (principal.role,))
        try:
            if self._sharing:
                if self._shared is None:
                    self._shared = SharedRead(self.db, principal.workspace_id, member)
                async with self._shared.use() as conn:
                    yield conn
            else:
                async with self.db.read(principal.workspace_id, member=member) as conn:
                    yield conn
        except NotAMember:
            raise Unauthorized("The account is not active") from None
        except RoleRefused as refused:
            raise Forbidden(f"The role of this account is now {refused.role}") from None

    def share_reads(self) -> None:
        """From now until end_reads(), reads share one transaction."""
        self._sharing = True

    async def end_reads(self) -> None:
        """Commit the shared read transaction, if one was opened. Its reads are done: a
        failure to commit is logged, not answered."""
        shared, self._shared, self._sharing = self._shared, None, False
        if shared is not None:
            try:
                await shared.close()
            except Exception:
                log.warning("the request's read transaction did not commit", exc_info=True)

    @property
    def authenticated(self) -> Principal | None:
        """The caller, if it has been authenticated already."""
        return self._principal

    @property
    def client_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None
