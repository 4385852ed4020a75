"""One error mapping for GraphQL: spec codes in `extensions.code`, nothing internal leaks."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from graphql.error import GraphQLError
from strawberry.extensions import SchemaExtension
from strawberry.types.execution import StreamExecutionResult

from core.errors import DomainError, ErrorCode, ValidationFailed
from core.outages import as_unavailable

log = logging.getLogger(__name__)


def _code_for(error: GraphQLError) -> tuple[ErrorCode, str, dict[str, object]]:
    original = error.original_error
    if isinstance(original, DomainError):
        return original.code, original.message, original.details
    if original is None:
        # Parse and validation errors of the document itself (unknown field, wrong type).
        return ErrorCode.VALIDATION_ERROR, error.message, {}
    outage = as_unavailable(original)
    if outage is not None:
        return outage.code, outage.message, outage.details
    log.error("unhandled error in a resolver", exc_info=original)
    return ErrorCode.INTERNAL_ERROR, "An unexpected error occurred; it has been logged.", {}


def invalid(field: str, message: str) -> ValidationFailed:
    """VALIDATION_ERROR naming `field`, for checks a resolver makes itself."""
    return ValidationFailed.field(field, message)


class ErrorMapping(SchemaExtension):
    """Rewrites every error with the spec's code and masks what is not a domain error, as
    Strawberry's MaskErrors does, without its runtime-checkable Protocol: that isinstance
    check alone cost more per operation than the rest of this extension."""

    def __init__(self) -> None:
        self._streamed = False

    def on_operation(self) -> Iterator[None]:
        self._streamed = False
        yield
        # A streamed operation's results were mapped one by one as they were sent.
        if not self._streamed:
            result = self.execution_context.result
            self._map(getattr(result, "initial_result", None) or result)

    def on_stream_result(self, result: StreamExecutionResult) -> Iterator[None]:
        self._streamed = True
        self._map(result)
        for part in (
            getattr(result, "incremental", None) or (),
            getattr(result, "completed", None) or (),
        ):
            for item in part:
                self._map(item)
        yield None

    @staticmethod
    def _map(result: object) -> None:
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = [mapped(error) for error in errors]  # type: ignore[attr-defined]


def mapped(error: GraphQLError) -> GraphQLError:
    """The error with the spec's code and, unless it is a domain error, a message that
    says nothing of the cause."""
    code, message, details = _code_for(error)
    extensions: dict[str, object] = {"code": code.value}
    if details:
        extensions["details"] = details
    return GraphQLError(
        message=message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
        extensions=extensions,
    )
