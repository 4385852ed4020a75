"""Charges each GraphQL operation to the caller's rate limits by what it does: one unit per
root field, aliases and fragment spreads included, so batching by alias buys nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension

from core.errors import RateLimited, ServiceUnavailable, Unauthorized
from core.outages import REDIS_DOWN, as_unavailable


def root_field_count(selection_set: SelectionSetNode, fragments: dict[str, object]) -> int:
    count = 0
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            count += 0 if selection.name.value.startswith("__") else 1
        elif isinstance(selection, InlineFragmentNode):
            count += root_field_count(selection.selection_set, fragments)
        elif isinstance(selection, FragmentSpreadNode):
            fragment = fragments.get(selection.name.value)
            selection_set_of = getattr(fragment, "selection_set", None)
            if isinstance(selection_set_of, SelectionSetNode):
                count += root_field_count(selection_set_of, fragments)
    return count


class OperationRateLimit(SchemaExtension):
    async def on_execute(self) -> AsyncIterator[None]:
        context = self.execution_context.context
        document = self.execution_context.graphql_document
        if context is not None and document is not None and context.bearer_token():
            fragments: dict[str, object] = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            name = self.execution_context.operation_name
            operation = next(
                (o for o in operations if name is None or (o.name and o.name.value == name)), None
            )
            if operation is not None:
                try:
                    await self._charge(context, operation, fragments)
                except (RateLimited, ServiceUnavailable) as exc:
                    if context.response is not None:
                        context.response.status_code = exc.http_status
                        context.response.headers.update(exc.headers)
                    # A result set here skips execution and still passes through the
                    # error mapping; an exception raised here would bypass it.
                    self.execution_context.result = ExecutionResult(
                        data=None, errors=[GraphQLError(exc.message, original_error=exc)]
                    )
        yield

    @staticmethod
    async def _charge(
        context: Any, operation: OperationDefinitionNode, fragments: dict[str, object]
    ) -> None:
        try:
            cost = max(1, root_field_count(operation.selection_set, fragments))
            try:
                await context.charged_principal(cost)
            except Unauthorized:
                return  # the fields' permissions will answer UNAUTHORIZED
        except REDIS_DOWN as exc:
            outage = as_unavailable(exc)
            assert outage is not None
            raise outage from exc
