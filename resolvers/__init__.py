"""Per-domain resolver mixins, composed into the root operation types."""

from __future__ import annotations

import strawberry

from resolvers.analytics import AnalyticsQuery
from resolvers.fleet import FleetMutation, FleetQuery
from resolvers.identity import IdentityMutation, IdentityQuery
from resolvers.notifications import NotificationMutation, NotificationQuery
from resolvers.operations import OperationsMutation, OperationsQuery, OperationsSubscription
from resolvers.quantum import QuantumMutation, QuantumQuery
from resolvers.routing import RoutingMutation, RoutingQuery, RoutingSubscription
from resolvers.system import SystemQuery
from resolvers.tracking import TrackingMutation, TrackingQuery, TrackingSubscription


@strawberry.type
class Query(
    SystemQuery,
    AnalyticsQuery,
    IdentityQuery,
    FleetQuery,
    RoutingQuery,
    TrackingQuery,
    QuantumQuery,
    NotificationQuery,
    OperationsQuery,
):
    pass


@strawberry.type
class Mutation(
    IdentityMutation,
    FleetMutation,
    RoutingMutation,
    TrackingMutation,
    QuantumMutation,
    NotificationMutation,
    OperationsMutation,
):
    pass


@strawberry.type
class Subscription(RoutingSubscription, TrackingSubscription, OperationsSubscription):
    pass
