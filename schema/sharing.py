"""Shared execution of GraphQL subscriptions over graphql-transport-ws.

Subscribers that sent the same document, variables and operation name, in the same
workspace and with the same role, would each get the same results: they share one
execution, and each result is serialized once. Every subscriber still has its own
operation id, its own bounded queue (a subscriber that falls `queue_size` results behind
gets an error and leaves, without holding up the others), its own `complete`, and leaves
the execution when it unsubscribes; the execution stops when its last subscriber leaves.

A live map is thousands of dashboards watching one workspace: without sharing, every
position was executed and serialized once per dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, cast
from uuid import UUID

import orjson
from graphql import DocumentNode, GraphQLError, OperationType, get_operation_ast, parse
from strawberry.schema import BaseSchema
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    Message,
    SubscribeMessage,
)
from strawberry.types.execution import ExecutionResult, PreExecutionError
from strawberry.utils.aio import aclosing

from core.errors import DomainError, ErrorCode
from core.principal import Principal
from schema.context import Context

log = logging.getLogger(__name__)

# graphql-transport-ws's close code for a connection whose authorisation is gone.
FORBIDDEN_CLOSE = 4403
# Subscription fields whose every result is the whole state of something (a job's
# progress): a subscriber that joins a running execution gets its latest result first.
LATEST_STATE_FIELDS = frozenset({"optimizationProgress"})

Key = tuple[str, bytes, str | None, UUID, str]


@lru_cache(maxsize=512)
def _subscription_fields(query: str, operation_name: str | None) -> tuple[str, ...] | None:
    """The root fields of the document's subscription operation; None if it is not one
    (or does not parse: the ordinary path answers that)."""
    try:
        document: DocumentNode = parse(query)
    except GraphQLError:
        return None
    operation = get_operation_ast(document, operation_name)
    if operation is None or operation.operation is not OperationType.SUBSCRIPTION:
        return None
    return tuple(
        getattr(getattr(s, "name", None), "value", "") for s in operation.selection_set.selections
    )


def _error_payload(code: ErrorCode, message: str) -> list[dict[str, Any]]:
    return [{"message": message, "extensions": {"code": code.value}}]


@dataclass(eq=False)
class Member:
    """One subscriber's operation: its id, and the queue its sender drains."""

    handler: SharedTransportWSHandler
    operation: Operation[Context, None]
    queue: asyncio.Queue[str | dict[str, Any]]
    key: Key
    prefix: str = ""

    def __post_init__(self) -> None:
        self.prefix = '{"id":' + orjson.dumps(self.operation.id).decode() + ',"type":"next",'

    def offer(self, payload: str) -> bool:
        try:
            self.queue.put_nowait(payload)
        except asyncio.QueueFull:
            return False
        return True

    def finish(self, message: dict[str, Any]) -> None:
        """Queue the operation's last message (`complete` or `error`), after the results."""
        if self.queue.full():  # it is leaving anyway: the results it cannot take are lost
            while not self.queue.empty():
                self.queue.get_nowait()
        self.queue.put_nowait(message)

    async def send(self) -> None:
        """The member's task: send queued results in order, then its last message."""
        while True:
            item = await self.queue.get()
            if isinstance(item, str):
                await self.handler.send_text(self.prefix + '"payload":' + item + "}")
                continue
            last = cast("Message", {"id": self.operation.id, **item})
            await self.operation.send_operation_message(last)
            return


@dataclass(eq=False)
class SharedExecution:
    key: Key
    members: set[Member] = field(default_factory=set)
    task: asyncio.Task[None] | None = None
    latest: str | None = None
    keeps_latest: bool = False


class SharedSubscriptions:
    """The executions running in this process, by what they were asked."""

    def __init__(self, *, queue_size: int = 256) -> None:
        self.queue_size = queue_size
        self._running: dict[Key, SharedExecution] = {}

    def __len__(self) -> int:
        return len(self._running)

    def join(
        self,
        key: Key,
        member: Member,
        start: Callable[[SharedExecution], Awaitable[None]],
        *,
        keeps_latest: bool,
    ) -> None:
        execution = self._running.get(key)
        if execution is None:
            execution = SharedExecution(key, keeps_latest=keeps_latest)
            self._running[key] = execution
            execution.members.add(member)
            execution.task = asyncio.create_task(self._run(execution, start))
            return
        if execution.latest is not None:
            member.offer(execution.latest)
        execution.members.add(member)

    def leave(self, member: Member) -> None:
        execution = self._running.get(member.key)
        if execution is None or member not in execution.members:
            return
        execution.members.discard(member)
        if not execution.members:
            self._running.pop(execution.key, None)
            if execution.task is not None:
                execution.task.cancel()

    async def _run(
        self, execution: SharedExecution, start: Callable[[SharedExecution], Awaitable[None]]
    ) -> None:
        last: dict[str, Any] = {"type": "complete"}
        try:
            await start(execution)
        except _Ended as ended:
            last = ended.message
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("a shared subscription failed")
            last = {
                "type": "error",
                "payload": _error_payload(
                    ErrorCode.INTERNAL_ERROR, "An unexpected error occurred; it has been logged."
                ),
            }
        if self._running.get(execution.key) is execution:
            del self._running[execution.key]
        for member in list(execution.members):
            member.finish(last)
        execution.members.clear()

    def publish(self, execution: SharedExecution, result: ExecutionResult) -> None:
        payload: dict[str, Any] = {"data": result.data}
        if result.errors:
            payload["errors"] = [error.formatted for error in result.errors]
        if result.extensions:
            payload["extensions"] = result.extensions
        text = orjson.dumps(payload).decode()
        if execution.keeps_latest:
            execution.latest = text
        for member in list(execution.members):
            if not member.offer(text):
                execution.members.discard(member)
                log.warning("dropped a slow GraphQL subscriber")
                member.finish(
                    {
                        "type": "error",
                        "payload": _error_payload(
                            ErrorCode.SERVICE_UNAVAILABLE, "Too far behind: subscribe again"
                        ),
                    }
                )


class _Ended(Exception):
    def __init__(self, message: dict[str, Any]) -> None:
        super().__init__(message.get("type"))
        self.message = message


class SharedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with shared subscription executions, and connections closed
    (4403) once the session that opened them has ended."""

    # How often an open connection checks that its session still stands.
    session_check_s: float = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watch: asyncio.Task[None] | None = None

    @property
    def shared(self) -> SharedSubscriptions:
        registry: SharedSubscriptions = self.context.request.app.state.subscriptions
        return registry

    async def send_text(self, text: str) -> None:
        socket = getattr(self.websocket, "ws", None)
        if socket is None:
            await self.websocket.send_json(orjson.loads(text))
        else:
            await socket.send_text(text)

    async def handle_connection_init(self, message: Any) -> None:
        await super().handle_connection_init(message)
        if self.connection_acknowledged and self._watch is None:
            self._watch = asyncio.create_task(self._watch_session())

    async def _watch_session(self) -> None:
        """Close the connection once the session it authenticated with has ended."""
        while True:
            await asyncio.sleep(self.session_check_s)
            principal = self.context.authenticated
            if principal is None:
                continue
            try:
                admitted = await self.context.admitted(principal)
            except Exception as exc:  # a blip does not drop every live map; the next check decides
                log.warning("session check failed: %s", exc)
                continue
            if not admitted:
                with contextlib.suppress(Exception):
                    await self.websocket.close(code=FORBIDDEN_CLOSE, reason="session ended")
                return

    async def shutdown(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        await super().shutdown()

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload") or {}
        query = payload.get("query")
        fields = (
            _subscription_fields(query, payload.get("operationName"))
            if isinstance(query, str)
            else None
        )
        principal = await self._principal() if fields else None
        if (
            fields is None
            or principal is None
            or not self.connection_acknowledged
            or message["id"] in self.operations
            or (
                self.max_subscriptions_per_connection is not None
                and len(self.operations) >= self.max_subscriptions_per_connection
            )
        ):
            await super().handle_subscribe(message)
            return
        assert isinstance(query, str)
        variables = payload.get("variables") or {}
        operation_name = payload.get("operationName")
        key: Key = (
            query,
            orjson.dumps(variables, option=orjson.OPT_SORT_KEYS),
            operation_name,
            principal.workspace_id,
            str(principal.role),
        )
        operation: Operation[Context, None] = Operation(
            self, message["id"], query, variables, operation_name
        )
        member = Member(self, operation, asyncio.Queue(maxsize=self.shared.queue_size), key)
        operation.task = asyncio.create_task(self._serve(member))
        operation.task.add_done_callback(self._task_done)
        self.operations[operation.id] = operation

        async def start(execution: SharedExecution) -> None:
            await self._execute(execution, query, variables, operation_name)

        self.shared.join(
            key, member, start, keeps_latest=all(f in LATEST_STATE_FIELDS for f in fields)
        )

    async def _principal(self) -> Principal | None:
        try:
            return await self.context.principal()
        except DomainError:
            return None  # the ordinary path answers the operation with the error

    async def _serve(self, member: Member) -> None:
        try:
            await member.send()
        finally:
            self.shared.leave(member)

    async def _execute(
        self,
        execution: SharedExecution,
        query: str,
        variables: dict[str, Any],
        operation_name: str | None,
    ) -> None:
        schema: BaseSchema = self.schema
        source = await schema.stream(
            query,
            variable_values=variables,
            context_value=self.context,
            root_value=self.root_value,
            operation_name=operation_name,
        )
        first = True
        async with aclosing(source):
            async for result in source:
                if first and isinstance(result, PreExecutionError):
                    errors = [error.formatted for error in result.errors or []]
                    raise _Ended({"type": "error", "payload": errors})
                if not isinstance(result, ExecutionResult):
                    raise _Ended(
                        {
                            "type": "error",
                            "payload": _error_payload(
                                ErrorCode.VALIDATION_ERROR,
                                "Incremental delivery is not supported over graphql-transport-ws",
                            ),
                        }
                    )
                first = False
                self.shared.publish(execution, result)
