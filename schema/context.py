"""The typed context every resolver receives."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractContextManager, asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

import asyncpg
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.db import Database, MemberCheck, SharedRead, member_refusals
from core.errors import Unauthorized
from core.principal import Principal
from core.runtime import Security
from core.settings import Settings
from dataloaders import DataLoaders

# The token, and what the request costs against the rate limits (0: charged elsewhere).
Authenticator = Callable[[str, int], Awaitable[Principal]]
Charger = Callable[[Principal, int], Awaitable[None]]
Admission = Callable[[Principal], Awaitable[bool]]
log = logging.getLogger(__name__)


@dataclass(slots=True)
class OperationTransaction:
    """The read transaction of one query operation, once a read has opened it."""

    shared: SharedRead | None = None
    over: bool = False


_OPERATION_READS: ContextVar[OperationTransaction | None] = ContextVar(
    "operation_reads", default=None
)


async def _always(principal: Principal) -> bool:
    return True


def _membership() -> AbstractContextManager[None]:
    return member_refusals(lambda role: f"The role of this account is now {role}")


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
        with _membership():
            operation = _OPERATION_READS.get()
            if operation is not None and not operation.over:
                if operation.shared is None:
                    operation.shared = SharedRead(self.db, principal.workspace_id, member)
                async with operation.shared.use() as conn:
                    yield conn
            else:
                async with self.db.read(principal.workspace_id, member=member) as conn:
                    yield conn

    async def fetch_scoped(self, query: str, *args: object) -> list[asyncpg.Record]:
        """The rows of one statement that checks the caller's membership and role and
        scopes itself (Database.member_fetch: its first three parameters the caller's),
        sent on its own: one round trip, where `read` takes three. On the operation's
        transaction instead when another read has opened it."""
        principal = await self.principal()
        member = MemberCheck(principal.user_id, (principal.role,))
        with _membership():
            operation = _OPERATION_READS.get()
            shared = operation.shared if operation is not None and not operation.over else None
            if shared is not None and shared.is_open:
                async with shared.use() as conn:
                    params = (member.user_id, principal.workspace_id, list(member.roles))
                    return list(await conn.fetch(query, *params, *args))
            return await self.db.member_fetch(query, principal.workspace_id, *args, member=member)

    @staticmethod
    def share_reads() -> OperationTransaction:
        """Until end_reads(), the reads of the operation running in this task (and in the
        tasks it starts: dataloader batches) share one transaction. Per task, so that the
        operations of one websocket, which share a Context, share nothing."""
        operation = OperationTransaction()
        _OPERATION_READS.set(operation)
        return operation

    @staticmethod
    async def end_reads(operation: OperationTransaction) -> None:
        """Commit the shared read transaction, if one was opened. Its reads are done: a
        failure to commit is logged, not answered."""
        operation.over = True
        shared, operation.shared = operation.shared, None
        if shared is not None:
            try:
                await shared.close()
            except Exception:
                log.warning("the operation's read transaction did not commit", exc_info=True)

    @property
    def authenticated(self) -> Principal | None:
        """The caller, if it has been authenticated already."""
        return self._principal

    @property
    def client_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None
