"""Per-domain resolver mixins, composed into the root operation types."""

from __future__ import annotations

import strawberry

from resolvers.system import SystemQuery


@strawberry.type
class Query(SystemQuery):
    pass


Mutation: type | None = None
Subscription: type | None = None
