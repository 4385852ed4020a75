"""Per-domain resolver mixins, composed into the root operation types."""

from __future__ import annotations

import strawberry

from resolvers.fleet import FleetMutation, FleetQuery
from resolvers.identity import IdentityMutation, IdentityQuery
from resolvers.routing import RoutingMutation, RoutingQuery, RoutingSubscription
from resolvers.system import SystemQuery


@strawberry.type
class Query(SystemQuery, IdentityQuery, FleetQuery, RoutingQuery):
    pass


@strawberry.type
class Mutation(IdentityMutation, FleetMutation, RoutingMutation):
    pass


@strawberry.type
class Subscription(RoutingSubscription):
    pass
