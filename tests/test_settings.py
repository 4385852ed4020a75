"""Settings refuse what is unsafe outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from core.crypto import DEV_INDEX_KEY, DEV_KEYS
from core.settings import Settings

STRONG = "s" * 40


def test_production_refuses_the_development_jwt_secret() -> None:
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(environment="production")  # type: ignore[arg-type]


def test_production_refuses_debug() -> None:
    with pytest.raises(ValidationError, match="DEBUG"):
        Settings(environment="production", debug=True, jwt_secret=STRONG)  # type: ignore[arg-type]


def test_production_accepts_a_strong_secret_and_rs256_needs_keys() -> None:
    keys = {"pii_keys": DEV_KEYS, "pii_index_key": DEV_INDEX_KEY}
    assert Settings(environment="production", jwt_secret=STRONG, **keys).debug is False  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="RS256"):
        Settings(environment="staging", jwt_algorithm="RS256")  # type: ignore[arg-type]


def test_role_names_must_be_plain_identifiers() -> None:
    with pytest.raises(ValidationError):
        Settings(db_app_role="app; DROP TABLE users")


def test_app_role_url_is_derived_from_the_owner_url() -> None:
    settings = Settings(database_url="postgresql://owner:pw@db:5432/fleet", db_app_password="apppw")  # type: ignore[arg-type]
    assert settings.app_dsn == "postgresql+asyncpg://omniroute_app:apppw@db:5432/fleet"
    assert settings.owner_dsn == "postgresql+asyncpg://owner:pw@db:5432/fleet"


def test_the_outbox_relay_goes_around_the_pooler() -> None:
    """Its session advisory lock would travel with a transaction-mode server connection."""
    settings = Settings(
        database_url="postgresql://owner:pw@db:5432/fleet",
        db_app_password="apppw",  # type: ignore[arg-type]
        db_app_host="pgbouncer",
        db_app_port=6432,
        db_transaction_pooling=True,
    )
    assert settings.app_dsn == "postgresql+asyncpg://omniroute_app:apppw@pgbouncer:6432/fleet"
    assert settings.session_dsn == "postgresql://omniroute_app:apppw@db:5432/fleet"
    direct = Settings(
        app_database_url="postgresql://app@pooler:6432/fleet",
        session_database_url="postgresql://app@db:5432/fleet",
    )
    assert direct.session_dsn == "postgresql://app@db:5432/fleet"


def test_several_api_processes_need_redis() -> None:
    """In memory, a logout or a rate limit would hold in one process and not the next."""
    with pytest.raises(ValidationError, match="API_WORKERS"):
        Settings(api_workers=2, redis_url="memory://")
    assert Settings(api_workers=2, redis_url="redis://127.0.0.1:6379/0").api_workers == 2
