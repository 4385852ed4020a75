"""The async engine and the tenant-scoped session every query goes through.

Row-Level Security policies compare `workspace_id` with the transaction-local setting
`app.current_workspace_id`; a session opened without a workspace sets it to '' and so
reads and writes nothing in tenant tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from core.events import Event, EventBus
from core.settings import Settings

_SET_TENANT = text(
    "SELECT set_config('app.current_workspace_id', :workspace_id, true),"
    " set_config('app.current_organization_id', :organization_id, true)"
)
_PENDING_EVENTS = "pending_events"
_AFTER_COMMIT = "after_commit"


def create_engine(settings: Settings, *, dsn: str | None = None) -> AsyncEngine:
    return create_async_engine(
        dsn or settings.app_dsn,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        connect_args={
            "server_settings": {
                "application_name": "omniroute",
                # asyncpg prepares every statement; after a few runs PostgreSQL may switch a
                # nearest-neighbour query to a generic plan that ignores the GiST index
                # (bench/spatial.py). Plans are cheap next to a full scan: always custom.
                "plan_cache_mode": "force_custom_plan",
            }
        },
    )


async def set_tenant(
    session: AsyncSession, workspace_id: UUID | None, *, organization_id: UUID | None = None
) -> None:
    """Scope the open transaction to a workspace (and organization); None scopes to nothing."""
    await session.execute(
        _SET_TENANT,
        {
            "workspace_id": str(workspace_id) if workspace_id else "",
            "organization_id": str(organization_id) if organization_id else "",
        },
    )


def queue_event(session: AsyncSession, event: Event) -> None:
    """Publish `event` once the session's transaction commits; dropped on rollback."""
    session.info.setdefault(_PENDING_EVENTS, []).append(event)


def after_commit(session: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    """Run `action` once the session's transaction has committed (e.g. hand a job to a
    worker, which must find the job's row); dropped on rollback."""
    session.info.setdefault(_AFTER_COMMIT, []).append(action)


class Database:
    """The engine the app role connects with, plus the bus that committed events go to."""

    def __init__(self, engine: AsyncEngine, bus: EventBus) -> None:
        self.engine = engine
        self.bus = bus

    @asynccontextmanager
    async def session(
        self, workspace_id: UUID | None, *, organization_id: UUID | None = None
    ) -> AsyncIterator[AsyncSession]:
        """One transaction scoped to a workspace: commits on success, rolls back on error,
        then publishes the events queued during it."""
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            async with session.begin():
                await set_tenant(session, workspace_id, organization_id=organization_id)
                yield session
            for event in session.info.pop(_PENDING_EVENTS, []):
                await self.bus.publish(event)
            for action in session.info.pop(_AFTER_COMMIT, []):
                await action()

    async def dispose(self) -> None:
        await self.engine.dispose()
