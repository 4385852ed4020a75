"""Test infrastructure: a real PostGIS database per test, cloned from a migrated template,
and the app driven through httpx's ASGI transport with a real Redis."""

from __future__ import annotations

import contextlib
import hashlib
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis
from sqlalchemy.engine import make_url
from starlette.applications import Starlette

ROOT = Path(__file__).resolve().parent.parent
# Two suites can share one PostgreSQL and Redis (two checkouts on one machine) when each sets
# its own OMNIROUTE_TEST_PREFIX and OMNIROUTE_TEST_REDIS_DB: nothing of one is touched by the other.
TEST_REDIS_DB = int(os.environ.get("OMNIROUTE_TEST_REDIS_DB", "15"))
TEST_DB_PREFIX = os.environ.get("OMNIROUTE_TEST_PREFIX", "omniroute")
POSTGIS_TEMPLATE = "omniroute_postgis_template"

# Workers and the broker read the global settings at import: point them at the test Redis.
_base_redis = os.environ.get("REDIS_URL") or ""
if not _base_redis:
    from core.settings import Settings as _S

    _base_redis = _S().redis_url
if _base_redis.startswith("memory"):
    raise RuntimeError("the test suite needs Redis: run it through `make test`")
TEST_REDIS_URL = urlsplit(_base_redis)._replace(path=f"/{TEST_REDIS_DB}").geturl()
os.environ["REDIS_URL"] = TEST_REDIS_URL
os.environ["ENVIRONMENT"] = "test"
# Each test's worker reads its own database; one deployment name for the whole run keeps
# their broker namespace the one this process sends to.
os.environ.setdefault("DEPLOYMENT_NAME", f"{TEST_DB_PREFIX}_tests")

from core.settings import Settings, get_settings  # noqa: E402

get_settings.cache_clear()


def _migrations_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in sorted((ROOT / "migrations" / "versions").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


@dataclass(frozen=True)
class DatabaseUnderTest:
    name: str
    owner_url: str  # plain postgresql:// URL of the owner role
    settings: Settings

    @property
    def owner_dsn(self) -> str:
        return make_url(self.owner_url).set(drivername="postgresql").render_as_string(False)

    @property
    def app_dsn(self) -> str:
        return self.settings.app_dsn.replace("postgresql+asyncpg://", "postgresql://", 1)


def _owner_url(database: str) -> str:
    base = make_url(get_settings().database_url)
    return base.set(database=database).render_as_string(hide_password=False)


def _maintenance_dsn() -> str:
    return make_url(_owner_url("postgres")).set(drivername="postgresql").render_as_string(False)


def run_alembic(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "-m", "alembic", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


async def create_database(name: str, template: str) -> None:
    conn = await asyncpg.connect(_maintenance_dsn())
    try:
        await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await conn.close()


async def drop_database(name: str) -> None:
    conn = await asyncpg.connect(_maintenance_dsn())
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _owner_alive(database: str) -> bool:
    """Test databases are named <prefix>_t_<pid>_<random>: is that pytest still running?"""
    parts = database.split("_")
    if len(parts) < 4 or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@pytest.fixture(scope="session")
async def migrated_template() -> str:
    """A database at the migrations' head, rebuilt only when a migration file changes."""
    name = f"{TEST_DB_PREFIX}_tpl_{_migrations_fingerprint()}"
    conn = await asyncpg.connect(_maintenance_dsn())
    try:
        existing = {
            r["datname"]
            for r in await conn.fetch(
                "SELECT datname FROM pg_database WHERE datname LIKE $1",
                f"{TEST_DB_PREFIX}\\_tpl\\_%",
            )
        }
        for stale in existing - {name}:
            await conn.execute(f'DROP DATABASE IF EXISTS "{stale}" WITH (FORCE)')
        # Leftovers of interrupted runs, but never those of a run still going.
        for row in await conn.fetch(
            "SELECT datname FROM pg_database WHERE datname LIKE $1", f"{TEST_DB_PREFIX}\\_t\\_%"
        ):
            if not _owner_alive(row["datname"]):
                await conn.execute(f'DROP DATABASE IF EXISTS "{row["datname"]}" WITH (FORCE)')
    finally:
        await conn.close()
    if name not in existing:
        building = f"{name}_building"
        await drop_database(building)
        await create_database(building, POSTGIS_TEMPLATE)
        result = run_alembic(_owner_url(building), "upgrade", "head")
        if result.returncode != 0:
            raise RuntimeError(f"migrating the test template failed:\n{result.stderr}")
        conn = await asyncpg.connect(_maintenance_dsn())
        try:
            await conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            await conn.close()
    return name


def settings_for(database: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "environment": "test",
        "database_url": _owner_url(database),
        "redis_url": TEST_REDIS_URL,
        "db_pool_size": 5,
        "db_max_overflow": 5,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def fresh_database_name() -> str:
    return f"{TEST_DB_PREFIX}_t_{os.getpid()}_{uuid.uuid4().hex[:12]}"


@contextlib.asynccontextmanager
async def cloned_database(template: str) -> AsyncIterator[DatabaseUnderTest]:
    """A fresh, migrated database (a clone of the template: about 0.1 s), dropped after."""
    name = fresh_database_name()
    await create_database(name, template)
    try:
        yield DatabaseUnderTest(name, _owner_url(name), settings_for(name))
    finally:
        await drop_database(name)


@pytest.fixture
async def database(migrated_template: str) -> AsyncIterator[DatabaseUnderTest]:
    """A fresh, migrated database for one test."""
    async with cloned_database(migrated_template) as db:
        yield db


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(TEST_REDIS_URL)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def owner_conn(database: DatabaseUnderTest) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the schema owner, for arranging and inspecting data (RLS still
    applies to the owner: set `app.current_workspace_id` to see a workspace's rows)."""
    conn = await asyncpg.connect(database.owner_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture
async def app_conn(database: DatabaseUnderTest) -> AsyncIterator[asyncpg.Connection]:
    """A connection as the application role, exactly as the API connects."""
    conn = await asyncpg.connect(database.app_dsn)
    try:
        yield conn
    finally:
        await conn.close()


async def start_app(settings: Settings) -> tuple[Starlette, object]:
    from app import create_app

    app = create_app(settings)
    lifespan = app.router.lifespan_context(app)
    await lifespan.__aenter__()
    return app, lifespan


@pytest.fixture
async def app(database: DatabaseUnderTest, redis: Redis) -> AsyncIterator[Starlette]:
    application, lifespan = await start_app(database.settings)
    try:
        yield application
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http
