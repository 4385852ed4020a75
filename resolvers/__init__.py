"""Per-domain resolver mixins, composed into the root operation types."""

from __future__ import annotations

import strawberry

from resolvers.fleet import FleetMutation, FleetQuery
from resolvers.identity import IdentityMutation, IdentityQuery
from resolvers.system import SystemQuery


@strawberry.type
class Query(SystemQuery, IdentityQuery, FleetQuery):
    pass


@strawberry.type
class Mutation(IdentityMutation, FleetMutation):
    pass


Subscription: type | None = None
