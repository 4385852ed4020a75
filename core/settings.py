"""One validated settings object, read from the environment (and `.omniroute/env`)."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import URL, make_url

from core.crypto import DEV_INDEX_KEY, DEV_KEYS, FieldCipher, cipher_from

DEV_JWT_SECRET = "dev-only-insecure-jwt-secret-change-me"
MEMORY_URL = "memory://"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    STAGING = "staging"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the service. `make run` writes the discovered URLs to `.omniroute/env`."""

    model_config = SettingsConfigDict(
        env_file=(".omniroute/env", ".env"), env_file_encoding="utf-8", extra="ignore"
    )

    environment: Environment = Environment.DEVELOPMENT
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # API processes sharing the port; each has its own writer, hub and pools.
    api_workers: int = Field(default=1, ge=1, le=64)
    # Proxies whose X-Forwarded-For names the client (per-IP login throttling, audit rows);
    # comma-separated addresses or networks, handed to uvicorn.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    # Serve TLS directly (uvicorn's certificate options); behind a proxy leave both unset.
    tls_certfile: str | None = None
    tls_keyfile: str | None = None
    # Strict-Transport-Security on responses to requests that came over TLS (0: never sent).
    hsts_max_age_s: int = Field(default=31_536_000, ge=0)
    log_level: str = "INFO"
    # Allocations between young-generation collections once a process is ready (core.heap).
    gc_gen0_threshold: int = Field(default=20_000, ge=0)

    # The owner URL runs migrations; the app URL is what the API and workers connect as.
    database_url: str = "postgresql://omniroute_owner@127.0.0.1:5432/omniroute"
    app_database_url: str | None = None
    # The app role's direct URL for session-holding connections (the outbox relay), needed
    # only when app_database_url leads to a pooler; unset: derived as described at session_dsn.
    session_database_url: str | None = None
    # Where analytics reports read (the application role on a streaming replica, spec 18);
    # unset: the app URL. Read models are written on the primary by the events process.
    analytics_database_url: str | None = None
    db_app_role: str = Field(default="omniroute_app", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_app_password: SecretStr | None = None
    db_auth_role: str = Field(default="omniroute_auth", pattern=r"^[a-z_][a-z0-9_]{0,62}$")
    db_pool_size: int = Field(default=20, ge=1)
    db_max_overflow: int = Field(default=10, ge=0)
    # The API and workers may reach PostgreSQL through a pooler (PgBouncer) while migrations
    # go direct: its host and port replace the owner URL's in the derived app URL.
    db_app_host: str | None = None
    db_app_port: int | None = Field(default=None, ge=1, le=65535)
    # The app URL leads to PgBouncer in transaction mode: no statement caches, prepared
    # statements named uniquely, no session-level startup settings.
    db_transaction_pooling: bool = False

    # Unset or "memory://" selects the single-process mode (in-memory bus, in-process worker).
    redis_url: str = MEMORY_URL
    broker_url: str | None = None
    # Keeps deployments that share a broker apart (its Redis key namespace); empty: the
    # database's name, so two databases never take each other's jobs.
    deployment_name: str = Field(default="", pattern=r"^[A-Za-z0-9_.-]{0,63}$")
    # A Redis-broker worker silent this long is presumed dead and its unacknowledged
    # messages are delivered again.
    broker_heartbeat_timeout_s: float = Field(default=30.0, ge=5)
    # A running job's worker renews its lease every third of this; a delivery finding the
    # lease run out takes the job over.
    job_lease_s: float = Field(default=30.0, ge=3)

    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    jwt_algorithm: str = "HS256"
    jwt_private_key_file: str | None = None
    jwt_public_key_file: str | None = None
    jwt_issuer: str = "omniroute"
    jwt_audience: str = "omniroute-api"
    access_token_ttl_s: int = Field(default=900, ge=60)
    refresh_token_ttl_s: int = Field(default=30 * 24 * 3600, ge=3600)
    # A rotated refresh token presented again within this window, before its successor was
    # used, is a client race (two tabs refreshing), not theft: refused without revoking.
    refresh_reuse_grace_s: float = Field(default=10.0, ge=0)
    invitation_ttl_s: int = Field(default=7 * 24 * 3600, ge=3600)
    login_free_failures_per_account: int = Field(default=5, ge=1)
    login_free_failures_per_ip: int = Field(default=20, ge=1)
    login_max_delay_s: int = Field(default=900, ge=1)

    rate_limit_user_per_min: int = Field(default=100, ge=1)
    rate_limit_workspace_per_min: int = Field(default=1000, ge=1)
    graphql_max_depth: int = Field(default=12, ge=1)
    graphql_max_aliases: int = Field(default=30, ge=1)
    graphql_max_tokens: int = Field(default=2000, ge=10)

    # Live tracking: a deviation needs two positions in a row this far from the route's
    # path (a workspace may set `deviation_threshold_m` in its settings); critical at 3x.
    deviation_threshold_m: float = Field(default=500.0, gt=0)
    arrival_radius_m: float = Field(default=100.0, gt=0)
    position_event_sample_s: float = Field(default=30.0, ge=0)
    tracking_flush_ms: float = Field(default=10.0, gt=0, le=1000)
    subscriber_queue_size: int = Field(default=256, ge=1)
    dashboard_frame_ms: float = Field(default=50.0, gt=0, le=5000)

    # Events. The outbox relay runs in every API process and in `python -m tasks.events`;
    # one publishes at a time. Consumers reclaim entries left pending this long by a dead
    # consumer, and move an entry delivered this many times to `events:dead:<group>`.
    event_relay_in_api: bool = True
    outbox_batch_size: int = Field(default=1000, ge=1, le=10_000)
    outbox_poll_ms: float = Field(default=50.0, gt=0, le=10_000)
    consumer_batch_size: int = Field(default=200, ge=1, le=10_000)
    consumer_block_ms: int = Field(default=1000, ge=1)
    consumer_claim_idle_ms: int = Field(default=30_000, ge=10)
    consumer_max_deliveries: int = Field(default=5, ge=1)
    # How long a consumer remembers an applied event: longer than any redelivery takes.
    consumer_receipt_ttl_s: float = Field(default=7 * 24 * 3600.0, ge=60)
    # Webhooks: each attempt times out after webhook_timeout_s; failures are retried with
    # exponential back-off (base doubling up to max, with jitter) for webhook_retry_window_s.
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=60)
    webhook_retry_base_s: float = Field(default=30.0, gt=0)
    webhook_retry_max_s: float = Field(default=3600.0, gt=0)
    webhook_retry_window_s: float = Field(default=24 * 3600.0, gt=0)
    webhook_concurrency: int = Field(default=64, ge=1)
    webhook_per_endpoint: int = Field(default=4, ge=1)
    webhook_poll_ms: float = Field(default=500.0, gt=0)

    # Dispatch: a vehicle whose last position is older than this is not a candidate.
    dispatch_max_position_age_s: float = Field(default=600.0, gt=0)

    # Road networks: how far a point may lie from the nearest usable road (beyond it the
    # whole plan uses great-circle travel), and the most each vehicle type drives (km/h).
    road_max_snap_m: float = Field(default=200.0, gt=0, le=5000)
    road_vehicle_speeds_kmh: dict[str, float] = Field(
        default_factory=lambda: {"bike": 18.0, "car": 110.0, "van": 90.0, "truck": 80.0}
    )

    cors_origins: list[str] = []
    # The console's base map: a raster tile URL template ({z}/{x}/{y}) on a server of your
    # own; unset, the map is drawn offline from the workspace's own GeoJSON over a grid.
    map_style_url: str | None = None
    partition_months_ahead: int = Field(default=3, ge=1, le=24)
    archive_dir: str = "archive"

    # Personal data encrypted at rest (core.crypto): `id:base64key` entries, inline or in a
    # mounted secret file; the active key encrypts (default: the last listed), all decrypt.
    pii_keys: SecretStr | None = None
    pii_keys_file: str | None = None
    pii_active_key_id: str | None = None
    pii_index_key: SecretStr | None = None

    # IBM Quantum through Qiskit Runtime; without a token and an instance only Aer is used.
    qiskit_ibm_token: SecretStr | None = None
    qiskit_ibm_instance: str | None = None
    qiskit_ibm_channel: str = "ibm_quantum_platform"

    @model_validator(mode="after")
    def _refuse_impossible_road_speeds(self) -> Self:
        for vtype, speed in self.road_vehicle_speeds_kmh.items():
            if not 0 < speed <= 300:
                raise ValueError(
                    f"ROAD_VEHICLE_SPEEDS_KMH: {vtype} at {speed} km/h is outside (0, 300]"
                )
        return self

    @model_validator(mode="after")
    def _refuse_workers_without_redis(self) -> Self:
        # Each process would keep its own denylist, rate limits, cache and live map.
        if self.api_workers > 1 and self.single_process:
            raise ValueError("API_WORKERS > 1 needs REDIS_URL: processes share nothing else")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_outside_development(self) -> Self:
        if self.environment in (Environment.DEVELOPMENT, Environment.TEST):
            return self
        if self.debug:
            raise ValueError(f"DEBUG must be off in {self.environment.value}")
        if self.jwt_algorithm == "HS256" and (
            self.jwt_secret.get_secret_value() == DEV_JWT_SECRET
            or len(self.jwt_secret.get_secret_value()) < 32
        ):
            raise ValueError(
                f"JWT_SECRET must be a strong secret (>= 32 characters) in {self.environment.value}"
            )
        if self.jwt_algorithm == "RS256" and not (
            self.jwt_private_key_file and self.jwt_public_key_file
        ):
            raise ValueError("RS256 needs JWT_PRIVATE_KEY_FILE and JWT_PUBLIC_KEY_FILE")
        if self._configured_cipher() is None:
            raise ValueError(
                "PII_KEYS or PII_KEYS_FILE, and PII_INDEX_KEY, must be set in"
                f" {self.environment.value}: personal data is encrypted at rest"
            )
        return self

    def _configured_cipher(self) -> FieldCipher | None:
        return cipher_from(
            self.pii_keys.get_secret_value() if self.pii_keys else None,
            self.pii_keys_file,
            self.pii_active_key_id,
            self.pii_index_key.get_secret_value() if self.pii_index_key else None,
        )

    def pii_cipher(self) -> FieldCipher:
        """The configured keys; in development and test, fixed keys when none are set."""
        cipher = self._configured_cipher()
        if cipher is None:
            cipher = cipher_from(DEV_KEYS, None, None, DEV_INDEX_KEY)
            assert cipher is not None  # outside development the validator refused to start
        return cipher

    @property
    def is_development(self) -> bool:
        return self.environment is Environment.DEVELOPMENT

    @property
    def single_process(self) -> bool:
        """No Redis: in-memory broadcast and event bus, an in-process Dramatiq worker."""
        return self.redis_url.startswith(MEMORY_URL)

    @property
    def deployment(self) -> str:
        return self.deployment_name or make_url(self.database_url).database or "omniroute"

    @property
    def owner_dsn(self) -> str:
        return _asyncpg_url(self.database_url)

    @property
    def analytics_dsn(self) -> str | None:
        """The analytics reports' URL when it differs from the app's."""
        return _asyncpg_url(self.analytics_database_url) if self.analytics_database_url else None

    @property
    def app_dsn(self) -> str:
        """The application role's URL: explicit, or the owner URL with the app role as user."""
        if self.app_database_url:
            return _asyncpg_url(self.app_database_url)
        url = self._app_role_direct()
        if self.db_app_host:
            url = url.set(host=self.db_app_host)
        if self.db_app_port:
            url = url.set(port=self.db_app_port)
        return _asyncpg_url(url.render_as_string(hide_password=False))

    @property
    def session_dsn(self) -> str:
        """The application role's plain `postgresql://` URL straight to PostgreSQL, never
        through the pooler: for connections that hold session state across transactions
        (the outbox relay's advisory lock), which PgBouncer's transaction mode would hand
        from one client to another."""
        explicit = self.session_database_url or self.app_database_url
        url = make_url(explicit) if explicit else self._app_role_direct()
        return url.set(drivername="postgresql").render_as_string(hide_password=False)

    def _app_role_direct(self) -> URL:
        """The owner URL with the application role as its user."""
        return make_url(self.database_url).set(
            username=self.db_app_role,
            password=self.db_app_password.get_secret_value() if self.db_app_password else None,
        )


def _asyncpg_url(url: str) -> str:
    parsed = make_url(url)
    return parsed.set(drivername="postgresql+asyncpg").render_as_string(hide_password=False)


@lru_cache
def get_settings() -> Settings:
    return Settings()
