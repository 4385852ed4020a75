"""Times each GraphQL operation into the Prometheus histogram."""

from __future__ import annotations

import time
from collections.abc import Iterator

from strawberry.extensions import SchemaExtension

from core.metrics import GRAPHQL_LATENCY


class OperationMetrics(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        context = self.execution_context
        operation_type = context.operation_type.value if context.operation_type else "unknown"
        GRAPHQL_LATENCY.labels(operation_type, context.operation_name or "anonymous").observe(
            time.perf_counter() - started
        )
