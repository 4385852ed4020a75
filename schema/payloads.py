"""Mutation results: a union of the success type and the errors a client can act on.

Expected failures (bad input with the field's path, a missing or conflicting record, a rate
limit, a failed optimization, a quantum timeout) come back as typed members of the result,
each with the spec's code. Authentication and authorization failures and bugs stay GraphQL
errors with `extensions.code`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.scalars import JSON
from strawberry.types import Info
from strawberry.types.field import StrawberryField
from strawberry.types.union import StrawberryUnion

from core.errors import DomainError, ErrorCode
from schema.types.fleet import Driver, ImportResult, Location, Vehicle
from schema.types.identity import AuthPayload, InvitationPayload, User, Workspace
from schema.types.notifications import WebhookRegistration
from schema.types.operations import DispatchResultType, Experience, Incident
from schema.types.quantum import QuantumJob, QuantumSimulation
from schema.types.routing import (
    FleetPlanPayload,
    OptimizationJob,
    OptimizePayload,
    ReplanPayload,
    Route,
)
from schema.types.tracking import PositionAck


@strawberry.interface(description="An expected failure of a mutation; nothing was changed.")
class MutationError:
    code: str = strawberry.field(description="The spec's error code.")
    message: str
    details: JSON | None = strawberry.field(
        default=None, description="What the REST envelope's `error.details` would hold."
    )


@strawberry.type
class FieldProblem:
    path: list[str] = strawberry.field(description="The field's path in the input.")
    message: str


@strawberry.type(description="VALIDATION_ERROR: the input broke a rule; `fields` say where.")
class ValidationError(MutationError):
    fields: list[FieldProblem]


@strawberry.type(description="NOT_FOUND: a record the mutation names does not exist.")
class NotFoundError(MutationError):
    pass


@strawberry.type(description="CONFLICT: the change clashes with the record's state.")
class ConflictError(MutationError):
    pass


@strawberry.type(description="RATE_LIMITED: too many requests; try again after a while.")
class RateLimitedError(MutationError):
    retry_after_s: int | None = None


@strawberry.type(description="OPTIMIZATION_FAILED: the solver found no plan.")
class OptimizationFailedError(MutationError):
    pass


@strawberry.type(description="QUANTUM_TIMEOUT: the quantum backend did not answer in time.")
class QuantumTimeoutError(MutationError):
    pass


@strawberry.type(description="The mutation was carried out.")
class Done:
    ok: bool = True


def _fields(details: dict[str, Any]) -> list[FieldProblem]:
    problems = details.get("fields")
    if not isinstance(problems, list):
        return []
    return [
        FieldProblem(path=str(p.get("field", "")).split("."), message=str(p.get("message", "")))
        for p in problems
        if isinstance(p, dict)
    ]


def error_of(exc: DomainError) -> MutationError | None:
    """The typed error for an expected failure; None for what stays a GraphQL error."""
    message, details = exc.message, JSON(exc.details) if exc.details else None
    match exc.code:
        case ErrorCode.VALIDATION_ERROR:
            return ValidationError(
                code=exc.code.value, message=message, details=details, fields=_fields(exc.details)
            )
        case ErrorCode.NOT_FOUND:
            return NotFoundError(code=exc.code.value, message=message, details=details)
        case ErrorCode.CONFLICT:
            return ConflictError(code=exc.code.value, message=message, details=details)
        case ErrorCode.RATE_LIMITED:
            retry = exc.details.get("retry_after_s")
            return RateLimitedError(
                code=exc.code.value,
                message=message,
                details=details,
                retry_after_s=int(retry) if isinstance(retry, int | float) else None,
            )
        case ErrorCode.OPTIMIZATION_FAILED:
            return OptimizationFailedError(code=exc.code.value, message=message, details=details)
        case ErrorCode.QUANTUM_TIMEOUT:
            return QuantumTimeoutError(code=exc.code.value, message=message, details=details)
    return None


class ExpectedErrors(FieldExtension):
    """Turns a mutation's expected failures into the members of its result union. The
    resolver's transaction has been rolled back by then: nothing was changed."""

    def apply(self, field: StrawberryField) -> None:
        union = field.type
        self.members: set[Any] = set(union.types) if isinstance(union, StrawberryUnion) else set()

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except DomainError as exc:
            error = error_of(exc)
            if error is None or type(error) not in self.members:
                raise
            return error


COMMON = ValidationError | NotFoundError | ConflictError | RateLimitedError
SOLVING = COMMON | OptimizationFailedError
QUANTUM = SOLVING | QuantumTimeoutError

DoneResult = Annotated[Done | COMMON, strawberry.union("DoneResult")]
AuthResult = Annotated[AuthPayload | COMMON, strawberry.union("AuthResult")]
UserResult = Annotated[User | COMMON, strawberry.union("UserResult")]
WorkspaceResult = Annotated[Workspace | COMMON, strawberry.union("WorkspaceResult")]
InvitationResult = Annotated[InvitationPayload | COMMON, strawberry.union("InvitationResult")]
VehicleResult = Annotated[Vehicle | COMMON, strawberry.union("VehicleResult")]
DriverResult = Annotated[Driver | COMMON, strawberry.union("DriverResult")]
LocationResult = Annotated[Location | COMMON, strawberry.union("LocationResult")]
ImportLocationsResult = Annotated[ImportResult | COMMON, strawberry.union("ImportLocationsResult")]
RouteResult = Annotated[Route | SOLVING, strawberry.union("RouteResult")]
OptimizeResult = Annotated[OptimizePayload | SOLVING, strawberry.union("OptimizeResult")]
OptimizationJobResult = Annotated[
    OptimizationJob | SOLVING, strawberry.union("OptimizationJobResult")
]
ReplanResult = Annotated[ReplanPayload | SOLVING, strawberry.union("ReplanResult")]
FleetPlanResult = Annotated[FleetPlanPayload | SOLVING, strawberry.union("FleetPlanResult")]
PositionResult = Annotated[PositionAck | COMMON, strawberry.union("PositionResult")]
QuantumJobResult = Annotated[QuantumJob | QUANTUM, strawberry.union("QuantumJobResult")]
QuantumSimulationResult = Annotated[
    QuantumSimulation | QUANTUM, strawberry.union("QuantumSimulationResult")
]
WebhookResult = Annotated[WebhookRegistration | COMMON, strawberry.union("WebhookResult")]
IncidentResult = Annotated[Incident | COMMON, strawberry.union("IncidentResult")]
DispatchResult = Annotated[DispatchResultType | SOLVING, strawberry.union("DispatchResult")]
ExperienceResult = Annotated[Experience | COMMON, strawberry.union("ExperienceResult")]
