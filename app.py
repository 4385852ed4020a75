"""The composition root: Starlette app, GraphQL over HTTP and websockets, `/api/v1`,
health and metrics, and the lifespan that owns the process-wide resources."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import strawberry
from broadcaster import Broadcast
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.types import Scope
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse, process_result
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

import resolvers
from core import heap, jsontext
from core.broadcast import create_broadcast
from core.context import current_user, current_workspace
from core.db import Database, create_engine
from core.errors import DomainError, ErrorCode, InternalError, MethodNotAllowed, NotFound
from core.fanout import Hub
from core.idempotency import MemoryIdempotencyStore, RedisIdempotencyStore
from core.logging import configure_logging
from core.outbox import BACKLOG_QUERY, OutboxRelay, RelaySettings, record_backlog
from core.principal import Principal
from core.runtime import Runtime
from core.settings import MEMORY_URL, Settings, get_settings
from dataloaders import DataLoaders
from rest import console, health
from rest.envelope import failure
from rest.middleware import RequestContextMiddleware
from rest.routes import routes as api_routes
from rest.segments import SegmentRouter
from rest.tracking_ws import tracking_socket
from schema.context import Context
from schema.factory import build_schema
from schema.sharing import SharedSubscriptions, SharedTransportWSHandler
from services import maintenance
from services.identity.accounts import (
    RateCharge,
    authenticate,
    enforce_rate_limit,
    still_admitted,
)
from services.tracking.feed import FeedSettings, TrackingFeed
from services.tracking.writer import PositionWriter
from tasks.broker import broker_url
from tasks.inprocess import start_in_process_worker
from tasks.maintenance import apply_retention
from tasks.operations import DramatiqSlaClock
from tasks.routing import DramatiqJobQueue
from tasks.runtime import install as install_worker_context

log = logging.getLogger("omniroute")
# `make console` builds it (npm); without it the API serves everything but the pages.
CONSOLE_DIST = Path(__file__).resolve().parent / "console" / "dist"
PARTITION_CHECK_INTERVAL_S = 12 * 3600


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = SharedTransportWSHandler

    def decode_json(self, data: str | bytes) -> object:
        # Strawberry answers 400 for a JSONDecodeError; without this a document nested past
        # the recursion limit, invalid UTF-8, or a body that is a bare string or null would
        # be a 500.
        try:
            decoded = json.loads(data)
        except (RecursionError, UnicodeDecodeError) as exc:
            raise json.JSONDecodeError(type(exc).__name__, "", 0) from None
        if not isinstance(decoded, dict | list):
            raise json.JSONDecodeError("the body must be a JSON object", "", 0)
        return decoded

    def encode_json(self, data: object) -> str:
        # Text: the websocket protocols send it as text frames.
        return jsontext.text(data)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = process_result(result)
        # Syntax errors are answered before schema extensions run: give them their code too.
        for error in response.get("errors") or []:
            assert isinstance(error, dict)
            error.setdefault("extensions", {}).setdefault("code", ErrorCode.VALIDATION_ERROR.value)
        return response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        state = request.app.state

        async def authenticator(token: str, cost: int) -> Principal:
            principal = await authenticate(
                db=state.db,
                security=state.security,
                token=token,
                charge=RateCharge(state.settings, cost) if cost else None,
            )
            current_user.set(principal.user_id)
            current_workspace.set(principal.workspace_id)
            return principal

        async def charge(principal: Principal, cost: int) -> None:
            await enforce_rate_limit(
                security=state.security, settings=state.settings, actor=principal, cost=cost
            )

        async def admitted(principal: Principal) -> bool:
            return await still_admitted(db=state.db, security=state.security, actor=principal)

        return Context(
            request=request,
            response=response if isinstance(response, Response) else None,
            settings=state.settings,
            db=state.db,
            analytics_db=state.analytics_db,
            security=state.security,
            loaders=DataLoaders.for_request(state.db),
            authenticator=authenticator,
            charge=charge,
            admitted=admitted,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        # graphql-transport-ws clients send the token in connection_init's payload.
        params = context.request.scope.get("connection_params")
        if isinstance(params, dict):
            context.connection_params = params
        return UNSET


async def _housekeeping(runtime: Runtime) -> None:
    """Twice a day: next months' partitions now, and retention handed to a worker (it runs
    as the schema owner)."""
    while True:
        try:
            async with runtime.db.session(None) as session:
                created = await maintenance.ensure_partitions(
                    session=session, months_ahead=runtime.settings.partition_months_ahead
                )
            if created:
                log.info("created partitions", extra={"partitions": created})
            await asyncio.to_thread(apply_retention.send)
        except Exception:
            log.exception("housekeeping failed; retrying at the next round")
        await asyncio.sleep(PARTITION_CHECK_INTERVAL_S)


def graphql_schema(settings: Settings) -> strawberry.Schema:
    return build_schema(
        query=resolvers.Query,
        mutation=resolvers.Mutation,
        subscription=resolvers.Subscription,
        settings=settings,
    )


async def _connect_with_retry(broadcast: Broadcast, interval_s: float = 5.0) -> None:
    while True:
        try:
            await broadcast.connect()
            return
        except Exception as exc:
            log.error("broadcast backend unreachable, retrying", extra={"error": repr(exc)})
            await asyncio.sleep(interval_s)


def _allowed_methods(routes: list[BaseRoute], scope: Scope) -> set[str]:
    allowed: set[str] = set()
    for route in routes:
        match, child = route.matches(scope)
        if match == Match.NONE:
            continue
        if isinstance(route, Mount):
            allowed |= _allowed_methods(route.routes, {**scope, **child})
        elif isinstance(route, Route) and route.methods:
            allowed |= route.methods
    return allowed


def create_app(settings: Settings | None = None, *, dsn: str | None = None) -> Starlette:
    settings = settings or get_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        runtime = Runtime.start(settings, dsn=dsn)
        broadcast = create_broadcast(MEMORY_URL if settings.single_process else settings.redis_url)
        # Start even while Redis is down, so that /health/ready can say so.
        broadcast_link = asyncio.create_task(_connect_with_retry(broadcast))
        app.state.settings = settings
        app.state.db = runtime.db
        analytics_db = (
            Database(create_engine(settings, dsn=settings.analytics_dsn), runtime.db.bus)
            if settings.analytics_dsn
            else runtime.db
        )
        app.state.analytics_db = analytics_db
        app.state.redis = runtime.redis
        app.state.security = runtime.security
        app.state.cache = runtime.cache
        app.state.idempotency = (
            RedisIdempotencyStore(runtime.redis)
            if runtime.redis is not None
            else MemoryIdempotencyStore()
        )
        app.state.jobs = DramatiqJobQueue()
        app.state.sla_clock = DramatiqSlaClock()
        hub = Hub(
            broadcast,
            queue_size=settings.subscriber_queue_size,
            frame_interval_s=settings.dashboard_frame_ms / 1000,
        )
        feed = TrackingFeed(
            db=runtime.db,
            cache=runtime.cache,
            hub=hub,
            settings=FeedSettings(
                deviation_threshold_m=settings.deviation_threshold_m,
                arrival_radius_m=settings.arrival_radius_m,
                event_sample_s=settings.position_event_sample_s,
            ),
        )
        writer = PositionWriter(
            runtime.db, after_flush=feed.after_flush, max_delay_s=settings.tracking_flush_ms / 1000
        )
        await writer.start()
        app.state.hub = hub
        app.state.subscriptions = SharedSubscriptions(queue_size=settings.subscriber_queue_size)
        app.state.writer = writer
        app.state.broadcast = broadcast
        app.state.broker_url = broker_url(settings)
        worker = None
        if settings.single_process:
            log.warning(
                "single-process mode: no Redis, so broadcast and events stay in this process"
                " and jobs run on an in-process worker"
            )
            install_worker_context(runtime.cache, broadcast, asyncio.get_running_loop())
            worker = start_in_process_worker()
        housekeeping = asyncio.create_task(_housekeeping(runtime))
        background = [housekeeping, broadcast_link]
        relay = None
        if settings.event_relay_in_api:
            relay = OutboxRelay(settings.session_dsn, runtime.db.bus, RelaySettings.of(settings))
            runtime.db.on_events_committed = relay.wake
            background.append(asyncio.create_task(relay.run()))
        heap.settle(settings.gc_gen0_threshold)
        try:
            yield
        finally:
            # Acknowledged positions are stored before anything else goes away.
            await writer.stop()
            if relay is not None:
                relay.stop()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if broadcast_link.done() and not broadcast_link.cancelled():
                await broadcast.disconnect()
            if worker is not None:
                worker.stop()
            if analytics_db is not runtime.db:
                await analytics_db.dispose()
            await runtime.close()

    graphql = GraphQLApp(
        graphql_schema(settings),
        graphql_ide="graphiql" if settings.is_development else None,
        subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
        allowed_origins=settings.cors_origins,
    )

    async def metrics(request: Request) -> Response:
        try:
            rows = await request.app.state.db.lookup(BACKLOG_QUERY)
            record_backlog(rows[0] if rows else None)
        except Exception as exc:  # the rest of the metrics are still worth serving
            log.warning("cannot measure the outbox backlog", extra={"error": repr(exc)})
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    async def domain_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, DomainError)
        return failure(exc)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return failure(NotFound(f"No route for {request.method} {request.url.path}"))
        if exc.status_code == 405:
            # Starlette names the methods of the first route for the path; list them all.
            # Matched afresh from the top: routing has already moved this scope into a Mount.
            scope = {
                "type": "http",
                "method": request.method,
                "path": request.url.path,
                "root_path": request.scope.get("app_root_path", ""),
                "path_params": {},
            }
            allowed = ", ".join(sorted(_allowed_methods(request.app.routes, scope)))
            return failure(
                MethodNotAllowed(
                    f"{request.method} is not allowed on {request.url.path}",
                    details={"allowed": allowed},
                    headers={"Allow": allowed},
                )
            )
        return failure(InternalError(str(exc.detail)))

    middleware = [Middleware(RequestContextMiddleware, hsts_max_age_s=settings.hsts_max_age_s)]
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["*"],
                allow_headers=["*"],
            )
        )
    exception_handlers: dict[Any, Any] = {DomainError: domain_error, HTTPException: http_error}
    console_dir = CONSOLE_DIST if CONSOLE_DIST.is_dir() else None
    pages: list[BaseRoute] = [*console.routes]
    if console_dir is not None:
        pages.append(Mount("/console/assets", StaticFiles(directory=console_dir)))
    app = Starlette(
        # Tried in order: the REST shims (position reports first) take most requests.
        routes=[
            Mount("/api/v1", app=SegmentRouter(api_routes)),
            Route("/health", health.live),
            Route("/health/ready", health.ready),
            Route("/health/startup", health.started),
            Route("/metrics", metrics),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            WebSocketRoute("/ws/tracking", tracking_socket),
            *pages,
        ],
        middleware=middleware,
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.state.console_dir = console_dir
    return app


# `strawberry export-schema app:schema` (make schema) prints this one.
schema = graphql_schema(get_settings())


def serving_app() -> Starlette:
    """The app each uvicorn worker process builds for itself (API_WORKERS > 1)."""
    settings = get_settings()
    configure_logging(settings.log_level)
    return create_app(settings)


def main() -> None:
    """`python app.py`: serve with uvicorn on HOST:PORT, in API_WORKERS processes."""
    import uvicorn

    settings = get_settings()
    configure_logging(settings.log_level)
    if settings.api_workers == 1:
        uvicorn.run(
            create_app(settings),
            host=settings.host,
            port=settings.port,
            forwarded_allow_ips=settings.forwarded_allow_ips,
            ssl_certfile=settings.tls_certfile,
            ssl_keyfile=settings.tls_keyfile,
            log_config=None,
        )
        return
    uvicorn.run(
        "app:serving_app",
        factory=True,
        workers=settings.api_workers,
        host=settings.host,
        port=settings.port,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        ssl_certfile=settings.tls_certfile,
        ssl_keyfile=settings.tls_keyfile,
        log_config=None,
    )


if __name__ == "__main__":
    main()
