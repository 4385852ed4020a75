"""One read transaction per query operation: its resolvers and dataloaders share it (see
Context.read), so the membership check and the tenant scope run once per request, and it
is committed when the operation's execution ends. Mutations and subscriptions keep a
transaction per unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from schema.context import Context


class OperationReads(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        if self.execution_context.operation_type is not OperationType.QUERY:
            yield
            return
        reads = Context.share_reads()
        try:
            yield
        finally:
            await Context.end_reads(reads)
