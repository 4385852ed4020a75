"""One read transaction per query operation: its resolvers and dataloaders share it (see
Context.read), so the membership check and the tenant scope run once per request, and it
is committed when the operation's execution ends. Mutations and subscriptions keep a
transaction per unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType


class OperationReads(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        query = self.execution_context.operation_type is OperationType.QUERY
        if query and context is not None:
            context.share_reads()
        try:
            yield
        finally:
            if query and context is not None:
                await context.end_reads()
