"""One error mapping for GraphQL: spec codes in `extensions.code`, nothing internal leaks."""

from __future__ import annotations

import logging

from graphql.error import GraphQLError
from strawberry.extensions import MaskErrors

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


class ErrorMapping(MaskErrors):
    """Rewrites every error with the spec's code; masks all that are not domain errors."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=lambda _: True)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
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
