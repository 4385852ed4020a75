"""Per-domain resolver mixins, composed into the root operation types."""

from __future__ import annotations

import strawberry

from resolvers.identity import IdentityMutation, IdentityQuery
from resolvers.system import SystemQuery


@strawberry.type
class Query(SystemQuery, IdentityQuery):
    pass


@strawberry.type
class Mutation(IdentityMutation):
    pass


Subscription: type | None = None
