"""SQLModel tables; importing this package registers every table on `SQLModel.metadata`."""

from sqlmodel import SQLModel

from models.analytics import (
    AnalyticsEvent,
    AuditLog,
    ConsumerReceipt,
    EventOutbox,
    EventTopicCount,
)
from models.analytics_reads import (
    AnalyticsIncident,
    AnalyticsOptimization,
    AnalyticsQuantumJob,
    AnalyticsRoute,
    AnalyticsVehicleDay,
    AnalyticsVehicleState,
    AnalyticsVehicleStatus,
    AnalyticsVehicleStatusDay,
)
from models.fleet import Driver, Location, Vehicle
from models.identity import (
    MemberInvitation,
    Organization,
    RefreshToken,
    RefreshTokenFamily,
    User,
    Workspace,
)
from models.notifications import Webhook, WebhookDelivery
from models.operations import Incident, IncidentUnit, LiveVehiclePosition, RouteDeviation
from models.quantum import QuantumJob
from models.routing import OptimizationJob, Route, RoutePath, RouteStop

__all__ = [
    "AnalyticsEvent",
    "AnalyticsIncident",
    "AnalyticsOptimization",
    "AnalyticsQuantumJob",
    "AnalyticsRoute",
    "AnalyticsVehicleDay",
    "AnalyticsVehicleState",
    "AnalyticsVehicleStatus",
    "AnalyticsVehicleStatusDay",
    "AuditLog",
    "ConsumerReceipt",
    "Driver",
    "EventOutbox",
    "EventTopicCount",
    "Incident",
    "IncidentUnit",
    "LiveVehiclePosition",
    "Location",
    "MemberInvitation",
    "OptimizationJob",
    "Organization",
    "QuantumJob",
    "RefreshToken",
    "RefreshTokenFamily",
    "Route",
    "RouteDeviation",
    "RoutePath",
    "RouteStop",
    "User",
    "Vehicle",
    "Webhook",
    "WebhookDelivery",
    "Workspace",
]

# Tables whose rows belong to one workspace and carry RLS; used by migrations and tests.
TENANT_TABLES: tuple[str, ...] = tuple(
    sorted(t.name for t in SQLModel.metadata.sorted_tables if "workspace_id" in t.c)
)
