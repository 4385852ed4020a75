"""Domain errors carrying the spec's error codes; both API surfaces map them the same way."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    NOT_FOUND = "NOT_FOUND"
    UNAUTHORIZED = "UNAUTHORIZED"
    FORBIDDEN = "FORBIDDEN"
    CONFLICT = "CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    OPTIMIZATION_FAILED = "OPTIMIZATION_FAILED"
    QUANTUM_TIMEOUT = "QUANTUM_TIMEOUT"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_ERROR: 422,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.UNAUTHORIZED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.CONFLICT: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.OPTIMIZATION_FAILED: 500,
    ErrorCode.QUANTUM_TIMEOUT: 504,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


class DomainError(Exception):
    """An expected failure whose message and details are safe to show to a client."""

    code: ErrorCode = ErrorCode.INTERNAL_ERROR

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]


class ValidationFailed(DomainError):
    code = ErrorCode.VALIDATION_ERROR

    @classmethod
    def field(cls, field: str, message: str) -> ValidationFailed:
        return cls(
            f"{field}: {message}", details={"fields": [{"field": field, "message": message}]}
        )


class NotFound(DomainError):
    code = ErrorCode.NOT_FOUND

    @classmethod
    def resource(cls, resource: str, resource_id: object) -> NotFound:
        key = f"{resource.lower()}_id"
        return cls(f"{resource} {resource_id} does not exist", details={key: str(resource_id)})


class Unauthorized(DomainError):
    code = ErrorCode.UNAUTHORIZED


class Forbidden(DomainError):
    code = ErrorCode.FORBIDDEN


class Conflict(DomainError):
    code = ErrorCode.CONFLICT


class RateLimited(DomainError):
    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after_s: int, *, scope: str) -> None:
        super().__init__(
            f"Too many requests for this {scope}; retry in {retry_after_s}s",
            details={"scope": scope, "retry_after_s": retry_after_s},
            headers={"Retry-After": str(retry_after_s)},
        )


class OptimizationFailed(DomainError):
    code = ErrorCode.OPTIMIZATION_FAILED


class QuantumTimeout(DomainError):
    code = ErrorCode.QUANTUM_TIMEOUT


class MethodNotAllowed(DomainError):
    code = ErrorCode.METHOD_NOT_ALLOWED


class ServiceUnavailable(DomainError):
    code = ErrorCode.SERVICE_UNAVAILABLE


class InternalError(DomainError):
    """Stands in for a bug in responses: the real error is only logged."""

    code = ErrorCode.INTERNAL_ERROR
