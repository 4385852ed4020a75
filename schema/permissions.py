"""GraphQL permissions: one class reading the role matrix of `models.permissions`."""

from __future__ import annotations

from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info

from core.errors import Forbidden
from core.principal import Principal
from models.permissions import Operation, is_allowed

__all__ = ["Allowed", "Operation", "ensure_allowed", "requires"]


class Allowed(BasePermission):
    """Authenticated (else UNAUTHORIZED) and allowed `operation` by role (else FORBIDDEN)."""

    def __init__(self, operation: Operation) -> None:
        self.operation = operation
        self.message = f"Your role may not perform {operation.value}"

    def on_unauthorized(self) -> None:
        raise Forbidden(self.message or "Forbidden")

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = await info.context.principal()
        return is_allowed(principal.role, self.operation)


def requires(operation: Operation) -> list[FieldExtension]:
    """`@strawberry.field(extensions=requires(Operation.X))`."""
    return [PermissionExtension(permissions=[Allowed(operation)], use_directives=False)]


def ensure_allowed(principal: Principal, operation: Operation, message: str) -> None:
    """FORBIDDEN unless the principal's role may perform `operation` (for resolvers that
    check inside, like subscriptions)."""
    if not is_allowed(principal.role, operation):
        raise Forbidden(message)
