"""The async engine and the tenant-scoped session every query goes through.

Row-Level Security policies compare `workspace_id` with the transaction-local setting
`app.current_workspace_id`; a session opened without a workspace sets it to '' and so
reads and writes nothing in tenant tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import orjson
from asyncpg.exceptions import InsufficientPrivilegeError, InvalidAuthorizationSpecificationError
from sqlalchemy import event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core import jsontext
from core.connection_pool import ConnectionPool
from core.errors import Forbidden, Unauthorized
from core.events import Event, EventBus
from core.faults import fault_point
from core.member_batches import MemberBatch, NotAMember, RoleRefused
from core.settings import Settings

_SET_TENANT = text(
    "SELECT set_config('app.current_workspace_id', :workspace_id, true),"
    " set_config('app.current_organization_id', :organization_id, true),"
    " set_config('plan_cache_mode', :plan_cache_mode, true)"
)
CUSTOM_PLANS, GENERIC_PLANS = "force_custom_plan", "force_generic_plan"
_PENDING_EVENTS = "pending_events"
_TENANT = "tenant"
_SCOPE_WORKSPACE = text("SELECT set_config('app.current_workspace_id', :workspace_id, true)")
SERVER_SETTINGS = {
    "application_name": "omniroute",
    # asyncpg prepares every statement; after a few runs PostgreSQL may switch a
    # nearest-neighbour query to a generic plan that ignores the GiST index
    # (bench/spatial.py). Plans are cheap next to a full scan: always custom.
    "plan_cache_mode": "force_custom_plan",
}
LOOKUP_CONNECTIONS = 4
# Hot reads (bench/api_floor.py) run on plain asyncpg connections of their own pool.
READ_CONNECTIONS = 10
_WORD = re.compile(r"[a-z_]{1,32}")
_AFTER_COMMIT = "after_commit"
# Advisory-lock class of the outbox: one lock per workspace (by the hash of its id).
OUTBOX_LOCK_CLASS = 0x0E7B
# The transaction's events go into the outbox last, under their workspaces' locks, which
# are held until the commit: a workspace's outbox ids are thus in commit order, and the
# relay, reading in id order, publishes them in that order. (A transaction spanning several
# workspaces locks them in one order, so two such cannot deadlock.)
_OUTBOX_INSERT = text(
    """
    WITH locked AS (SELECT pg_advisory_xact_lock(:lock_class, hashtext(:workspace)))
    INSERT INTO event_outbox (workspace_id, event_id, topic, envelope)
    SELECT u.w, u.e, u.t, u.v
    FROM unnest(
        CAST(:workspace_ids AS uuid[]), CAST(:event_ids AS uuid[]),
        CAST(:topics AS text[]), CAST(:envelopes AS text[])
    ) WITH ORDINALITY AS u(w, e, t, v, n)
    WHERE (SELECT count(*) FROM locked) >= 0
    ORDER BY u.n
    """
)


def _unique_statement_name() -> str:
    return f"__omniroute_{uuid.uuid4().hex}__"


def _connect_args(settings: Settings) -> dict[str, Any]:
    if not settings.db_transaction_pooling:
        return {"server_settings": SERVER_SETTINGS}
    # PgBouncer in transaction mode hands each transaction whichever server connection is
    # free: a statement prepared in one transaction may not exist in the next, and two
    # clients' "__asyncpg_stmt_1__" would meet on one server. Every transaction sets its
    # plan_cache_mode itself (set_tenant), so no startup setting is lost.
    return {
        "server_settings": {"application_name": SERVER_SETTINGS["application_name"]},
        "statement_cache_size": 0,
        "prepared_statement_cache_size": 0,
        "prepared_statement_name_func": _unique_statement_name,
    }


def create_engine(settings: Settings, *, dsn: str | None = None) -> AsyncEngine:
    engine = create_async_engine(
        dsn or settings.app_dsn,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        # Connections older than this are replaced (idle sockets a network dropped quietly).
        pool_recycle=1800,
        # The most recently used connection first: a few warm connections serve a quiet API
        # (each backend's first geography operation loads PostGIS's projection data, about
        # 25 ms) instead of every request taking the connection idle longest.
        pool_use_lifo=True,
        connect_args=_connect_args(settings),
        # JSON columns (job inputs and results of hundreds of stops, event payloads) are
        # written and read with orjson, as responses are.
        json_serializer=jsontext.text,
        json_deserializer=orjson.loads,
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend) is
    replaced at checkout. The driver knows without a round trip; the pool's own pre-ping
    would cost three (begin, ping, rollback) on every transaction."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


async def set_tenant(
    session: AsyncSession,
    workspace_id: UUID | None,
    *,
    organization_id: UUID | None = None,
    plan_cache_mode: str = CUSTOM_PLANS,
) -> None:
    """Scope the open transaction to a workspace (and organization); None scopes to nothing."""
    session.info[_TENANT] = workspace_id
    await session.execute(
        _SET_TENANT,
        {
            "workspace_id": str(workspace_id) if workspace_id else "",
            "organization_id": str(organization_id) if organization_id else "",
            "plan_cache_mode": plan_cache_mode,
        },
    )


def queue_event(session: AsyncSession, event: Event) -> None:
    """Publish `event` once the session's transaction commits; dropped on rollback."""
    session.info.setdefault(_PENDING_EVENTS, []).append(event)


async def write_outbox(session: AsyncSession, events: list[Event]) -> None:
    """The events into the outbox, in the open transaction (see _OUTBOX_INSERT): one
    insert per workspace, in workspace order, each under that workspace's tenant scope (a
    transaction that created a workspace may have emitted events in both)."""
    current = session.info.get(_TENANT)
    by_workspace: dict[UUID, list[Event]] = {}
    for queued in events:
        by_workspace.setdefault(queued.workspace_id, []).append(queued)
    rescoped = False
    for workspace_id in sorted(by_workspace, key=str):
        group = by_workspace[workspace_id]
        if workspace_id != current:
            await session.execute(_SCOPE_WORKSPACE, {"workspace_id": str(workspace_id)})
            rescoped = True
        await session.execute(
            _OUTBOX_INSERT,
            {
                "lock_class": OUTBOX_LOCK_CLASS,
                "workspace": str(workspace_id),
                "workspace_ids": [e.workspace_id for e in group],
                "event_ids": [e.event_id for e in group],
                "topics": [e.event_type for e in group],
                "envelopes": [e.envelope_text() for e in group],
            },
        )
    if rescoped:
        await session.execute(_SCOPE_WORKSPACE, {"workspace_id": str(current or "")})


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` once the session's transaction has committed (e.g. hand a job to a
    worker, which must find the job's row); dropped on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


@dataclass(frozen=True, slots=True)
class MemberCheck:
    """Who a read is for: the token's user, who must still be an active member of the
    read's workspace with one of `roles`."""

    user_id: UUID
    roles: tuple[str, ...]


@contextlib.contextmanager
def member_refusals(forbidden: Callable[[str], str]) -> Iterator[None]:
    """The database's refusals of a member's read as the API's: 401 for a member no more,
    403 worded by `forbidden` from the role the database found."""
    try:
        yield
    except NotAMember:
        raise Unauthorized("The account is not active") from None
    except RoleRefused as refused:
        raise Forbidden(forbidden(refused.role)) from None


class Database:
    """The engine the app role connects with, plus the bus that committed events go to
    (through the outbox relay)."""

    def __init__(self, engine: AsyncEngine, bus: EventBus, *, pooled: bool = False) -> None:
        self.engine = engine
        self.bus = bus
        # Behind PgBouncer in transaction mode (settings.db_transaction_pooling).
        self.pooled = pooled
        # Called after each commit that wrote events (a relay in this process wakes up).
        self.on_events_committed: Callable[[], None] | None = None
        self._lookups: ConnectionPool | None = None
        self._lookups_ready = asyncio.Lock()
        self._reads: ConnectionPool | None = None
        self._member_batches: dict[tuple[str, tuple[str, ...]], MemberBatch] = {}

    @asynccontextmanager
    async def session(
        self,
        workspace_id: UUID | None,
        *,
        organization_id: UUID | None = None,
        generic_plans: bool = False,
    ) -> AsyncIterator[AsyncSession]:
        """One transaction scoped to a workspace: commits on success, rolls back on error.
        The events queued during it are written to the outbox just before the commit.

        Statements are planned for their actual parameters on every run (see
        SERVER_SETTINGS); `generic_plans` keeps one plan per prepared statement instead,
        for a few fixed, hot statements whose planning would cost more than running them
        (the position writer's insert into a partitioned table plans in milliseconds)."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            async with session.begin():
                await set_tenant(
                    session,
                    workspace_id,
                    organization_id=organization_id,
                    plan_cache_mode=GENERIC_PLANS if generic_plans else CUSTOM_PLANS,
                )
                yield session
                events = session.info.pop(_PENDING_EVENTS, None)
                if events:
                    await write_outbox(session, events)
            if events:
                for committed in events:
                    fault_point(f"committed:{committed.event_type}")
                if self.on_events_committed is not None:
                    self.on_events_committed()
            for action in session.info.pop(_AFTER_COMMIT, []):
                await action()

    @asynccontextmanager
    async def read(
        self,
        workspace_id: UUID,
        *,
        member: MemberCheck,
        generic_plans: bool = False,
    ) -> AsyncIterator[asyncpg.Connection]:
        """A read-only transaction scoped to a workspace, on a plain asyncpg connection, for
        the hot reads (one vehicle, a page of vehicles) whose ORM session would cost more
        than their statement. Opening it is one round trip: BEGIN and the scope sent as one
        simple query. The scope is set by auth_scope_member, which first checks that the
        user is still an active member whose role is one of `member.roles` (NotAMember,
        RoleRefused): the request's membership check, in its own transaction.
        The reads are prepared statements; the commit is the last round trip. The same
        forced RLS applies: the same role, the same transaction-local settings."""
        pool = self._reads or await self._open_reads()
        mode = GENERIC_PLANS if generic_plans else CUSTOM_PLANS
        refusal: Exception | None = None
        async with pool.acquire() as conn:
            try:
                await conn.execute(_scoped_begin(workspace_id, member, mode))
            except (InvalidAuthorizationSpecificationError, InsufficientPrivilegeError) as exc:
                await conn.execute("ROLLBACK")
                refusal = (
                    RoleRefused(exc.detail or "")
                    if isinstance(exc, InsufficientPrivilegeError)
                    else NotAMember()
                )
            if refusal is None:
                try:
                    yield conn
                except BaseException:
                    # A broken or cancelled connection cannot roll back: the pool closes it,
                    # which ends the transaction.
                    with contextlib.suppress(Exception):
                        await conn.execute("ROLLBACK")
                    raise
                await conn.execute("COMMIT")
        if refusal is not None:
            raise refusal

    async def member_fetch(
        self, query: str, workspace_id: UUID, *args: object, member: MemberCheck
    ) -> list[asyncpg.Record]:
        """The rows of one statement that checks the membership and scopes itself: a
        function that calls auth_scope_member before it reads (auth_read_vehicle), its
        first three parameters the user, the workspace and the roles, then `args`.
        Sent on its own, the statement is its own transaction, the check's and the read's:
        one round trip. Behind PgBouncer it runs inside BEGIN and COMMIT, as every
        statement there. NotAMember and RoleRefused as `read`."""
        try:
            return await self._fetch_self_scoped(
                query, member.user_id, workspace_id, list(member.roles), *args
            )
        except InvalidAuthorizationSpecificationError:
            raise NotAMember from None
        except InsufficientPrivilegeError as exc:
            if exc.detail is None:  # not auth_scope_member's refusal
                raise
            raise RoleRefused(exc.detail) from None

    async def member_read(
        self, statement: str, workspace_id: UUID, key: object, *, member: MemberCheck
    ) -> list[asyncpg.Record]:
        """The rows of one request's read by `key` through a batch statement that checks
        the membership and scopes itself (core.member_batches), sent together with the
        reads of the same statement and roles waiting at that moment: under load one round
        trip serves them all. NotAMember and RoleRefused as `member_fetch`."""
        batch = self._member_batches.get((statement, member.roles))
        if batch is None:
            batch = MemberBatch(self._fetch_self_scoped, statement, member.roles)
            self._member_batches[(statement, member.roles)] = batch
        return await batch.read(member.user_id, workspace_id, key)

    async def _fetch_self_scoped(self, query: str, *params: object) -> list[asyncpg.Record]:
        """Sent on its own, the statement is its own transaction; behind PgBouncer it runs
        inside BEGIN and COMMIT, as every statement there."""
        pool = self._reads or await self._open_reads()
        if not self.pooled:
            return await pool.fetch(query, *params)
        async with pool.acquire() as conn, conn.transaction(readonly=True):
            return list(await conn.fetch(query, *params))

    async def _open_reads(self) -> ConnectionPool:
        async with self._lookups_ready:
            if self._reads is None:
                self._reads = self._pool(READ_CONNECTIONS)
            return self._reads

    def _pool(self, size: int) -> ConnectionPool:
        return ConnectionPool(
            self.dsn,
            max_size=size,
            server_settings=(
                {"application_name": SERVER_SETTINGS["application_name"]}
                if self.pooled
                else SERVER_SETTINGS
            ),
            statement_cache_size=0 if self.pooled else 100,
        )

    @property
    def dsn(self) -> str:
        """The application role's plain `postgresql://` URL, for asyncpg connections."""
        return self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def lookup(self, query: str, *args: object) -> list[asyncpg.Record]:
        """The rows of one statement run outside any transaction and tenant, for the
        SECURITY DEFINER look-ups (which scope themselves) on paths where a session's four
        round trips would show, such as authenticating every request. A small pool of its
        own: a burst queues for its few connections instead of opening overflow
        connections, each a new PostgreSQL backend."""
        pool = self._lookups or await self._open_lookups()
        if not self.pooled:
            return await pool.fetch(query, *args)
        # Behind PgBouncer a statement's parse and its execution must share one server
        # connection, which only a transaction guarantees.
        async with pool.acquire() as conn, conn.transaction():
            return list(await conn.fetch(query, *args))

    async def _open_lookups(self) -> ConnectionPool:
        async with self._lookups_ready:
            if self._lookups is None:
                self._lookups = self._pool(LOOKUP_CONNECTIONS)
            return self._lookups

    async def dispose(self) -> None:
        for pool in (self._lookups, self._reads):
            if pool is not None:
                await pool.close()
        self._lookups = self._reads = None
        await self.engine.dispose()


class SharedRead:
    """One read transaction (Database.read) shared by all the reads of one request, such
    as a GraphQL query's resolvers and dataloaders: opened by the first read, so the
    membership check and the tenant scope run once per request; lent to one reader at a
    time (its statements never interleave); committed by close(), after which it lends
    nothing. A reader must not wait on another reader while it holds the connection."""

    def __init__(self, db: Database, workspace_id: UUID, member: MemberCheck) -> None:
        self._db = db
        self._workspace_id = workspace_id
        self._member = member
        self._lock = asyncio.Lock()
        self._open: contextlib.AsyncExitStack | None = None
        self._conn: asyncpg.Connection | None = None
        self._closed = False

    @property
    def member(self) -> MemberCheck:
        return self._member

    @property
    def is_open(self) -> bool:
        """Whether a read has opened the transaction and it is not over."""
        return self._conn is not None and not self._closed

    @asynccontextmanager
    async def use(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._lock:
            if self._closed:
                raise RuntimeError("this request's reads are over")
            if self._conn is None:
                stack = contextlib.AsyncExitStack()
                self._conn = await stack.enter_async_context(
                    self._db.read(self._workspace_id, member=self._member)
                )
                self._open = stack
            yield self._conn

    async def close(self) -> None:
        """Commit the transaction, if a read opened one (waiting for a reader still on it),
        and give its connection back."""
        async with self._lock:
            self._closed = True
            stack, self._open, self._conn = self._open, None, None
        if stack is not None:
            await stack.aclose()


def _scoped_begin(workspace_id: UUID, member: MemberCheck, plan_cache_mode: str) -> str:
    """BEGIN and the scope as one simple query (which takes no parameters): every value
    is a UUID rendered by uuid.UUID itself, a role name checked to be a plain word, or one
    of two constants."""
    if not (isinstance(workspace_id, UUID) and isinstance(member.user_id, UUID)):
        raise TypeError("a read is scoped by UUIDs")
    if plan_cache_mode not in (CUSTOM_PLANS, GENERIC_PLANS):
        raise ValueError(plan_cache_mode)
    if not member.roles or not all(_WORD.fullmatch(role) for role in member.roles):
        raise ValueError(f"not role names: {member.roles!r}")
    roles = ",".join(f"'{role}'" for role in member.roles)
    # The target list is evaluated in order; a refusal ends the statement before the rest.
    return (
        "BEGIN READ ONLY; SELECT auth_scope_member("
        f"'{member.user_id}', '{workspace_id}', ARRAY[{roles}]::text[]),"
        f" set_config('plan_cache_mode', '{plan_cache_mode}', true)"
    )
