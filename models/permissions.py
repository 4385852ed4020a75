"""The role matrix: which roles may perform each operation, in the spec's terms.

Written down once; GraphQL permission classes and REST routes both read it. Object-level
rules (a driver acts only on the vehicle assigned to them) are enforced by the services.
"""

from __future__ import annotations

import functools
from enum import StrEnum

from models.enums import UserRole

ADMIN = frozenset({UserRole.ADMIN})
ADMIN_OPERATOR = frozenset({UserRole.ADMIN, UserRole.OPERATOR})
OPERATOR_PLUS = ADMIN_OPERATOR
ANALYST_PLUS = frozenset({UserRole.ADMIN, UserRole.OPERATOR, UserRole.ANALYST})
RESPONDER_PLUS = frozenset({UserRole.ADMIN, UserRole.OPERATOR, UserRole.RESPONDER})
DRIVER = frozenset({UserRole.DRIVER})
ANY = frozenset(UserRole)


class Operation(StrEnum):
    # Identity (spec 6, 7)
    PROFILE_READ = "profile.read"
    PROFILE_UPDATE = "profile.update"
    WORKSPACE_SWITCH = "workspace.switch"
    WORKSPACE_LIST = "workspace.list"
    WORKSPACE_READ = "workspace.read"
    WORKSPACE_CREATE = "workspace.create"
    WORKSPACE_UPDATE = "workspace.update"
    WORKSPACE_DELETE = "workspace.delete"
    MEMBER_LIST = "member.list"
    MEMBER_INVITE = "member.invite"
    # Fleet (spec 8)
    VEHICLE_LIST = "vehicle.list"
    VEHICLE_READ = "vehicle.read"
    VEHICLE_CREATE = "vehicle.create"
    VEHICLE_UPDATE = "vehicle.update"
    VEHICLE_DELETE = "vehicle.delete"
    VEHICLE_LIVE = "vehicle.live"
    VEHICLE_HISTORY = "vehicle.history"
    VEHICLE_NEARBY = "vehicle.nearby"
    DRIVER_LIST = "driver.list"
    DRIVER_READ = "driver.read"
    DRIVER_CREATE = "driver.create"
    DRIVER_UPDATE = "driver.update"
    DRIVER_DELETE = "driver.delete"
    LOCATION_LIST = "location.list"
    LOCATION_READ = "location.read"
    LOCATION_CREATE = "location.create"
    LOCATION_UPDATE = "location.update"
    LOCATION_DELETE = "location.delete"
    LOCATION_IMPORT = "location.import"
    # Routing (spec 9)
    ROUTE_CREATE = "route.create"
    ROUTE_OPTIMIZE = "route.optimize"
    ROUTE_READ = "route.read"
    ROUTE_LIST = "route.list"
    ROUTE_UPDATE = "route.update"
    ROUTE_DEPLOY = "route.deploy"
    ROUTE_COMPLETE = "route.complete"
    ROUTE_DELETE = "route.delete"
    # Quantum (spec 10)
    QUANTUM_OPTIMIZE = "quantum.optimize"
    QUANTUM_JOB_READ = "quantum.job.read"
    QUANTUM_JOB_LIST = "quantum.job.list"
    QUANTUM_SIMULATE = "quantum.simulate"
    QUANTUM_HEALTH = "quantum.health"
    # Tracking (spec 11)
    TRACKING_UPDATE = "tracking.update"
    TRACKING_READ = "tracking.read"
    TRACKING_STREAM = "tracking.stream"
    TRACKING_DEVIATIONS = "tracking.deviations"
    # Incidents (spec 12)
    INCIDENT_CREATE = "incident.create"
    INCIDENT_LIST = "incident.list"
    INCIDENT_READ = "incident.read"
    INCIDENT_UPDATE = "incident.update"
    INCIDENT_DISPATCH = "incident.dispatch"
    # Experience and analytics (spec 13, 14)
    EXPERIENCE_READ = "experience.read"
    EXPERIENCE_UPDATE = "experience.update"
    ANALYTICS_READ = "analytics.read"
    # Webhooks and the audit log (spec 15's Notification consumer; spec 20's audit)
    WEBHOOK_LIST = "webhook.list"
    WEBHOOK_CREATE = "webhook.create"
    WEBHOOK_DELETE = "webhook.delete"
    WEBHOOK_DELIVERIES = "webhook.deliveries"
    AUDIT_READ = "audit.read"


ROLE_MATRIX: dict[Operation, frozenset[UserRole]] = {
    Operation.PROFILE_READ: ANY,
    Operation.PROFILE_UPDATE: ANY,
    Operation.WORKSPACE_SWITCH: ANY,
    Operation.WORKSPACE_LIST: ANY,
    Operation.WORKSPACE_READ: ANY,
    Operation.WORKSPACE_CREATE: ADMIN,
    Operation.WORKSPACE_UPDATE: ADMIN,
    Operation.WORKSPACE_DELETE: ADMIN,
    Operation.MEMBER_LIST: ADMIN_OPERATOR,
    Operation.MEMBER_INVITE: ADMIN,
    Operation.VEHICLE_LIST: OPERATOR_PLUS,
    Operation.VEHICLE_READ: OPERATOR_PLUS,
    Operation.VEHICLE_CREATE: ADMIN_OPERATOR,
    Operation.VEHICLE_UPDATE: ADMIN_OPERATOR,
    Operation.VEHICLE_DELETE: ADMIN,
    Operation.VEHICLE_LIVE: OPERATOR_PLUS,
    Operation.VEHICLE_HISTORY: ANALYST_PLUS,
    Operation.VEHICLE_NEARBY: OPERATOR_PLUS,
    # Drivers and locations are not in the spec's tables: they follow vehicles, and every
    # role may read places (drivers and responders navigate to them).
    Operation.DRIVER_LIST: OPERATOR_PLUS,
    Operation.DRIVER_READ: OPERATOR_PLUS,
    Operation.DRIVER_CREATE: ADMIN_OPERATOR,
    Operation.DRIVER_UPDATE: ADMIN_OPERATOR,
    Operation.DRIVER_DELETE: ADMIN,
    Operation.LOCATION_LIST: ANY,
    Operation.LOCATION_READ: ANY,
    Operation.LOCATION_CREATE: ADMIN_OPERATOR,
    Operation.LOCATION_UPDATE: ADMIN_OPERATOR,
    Operation.LOCATION_DELETE: ADMIN,
    Operation.LOCATION_IMPORT: ADMIN_OPERATOR,
    Operation.ROUTE_CREATE: OPERATOR_PLUS,
    Operation.ROUTE_OPTIMIZE: OPERATOR_PLUS,
    Operation.ROUTE_READ: ANY,
    Operation.ROUTE_LIST: ANY,
    Operation.ROUTE_UPDATE: OPERATOR_PLUS,
    Operation.ROUTE_DEPLOY: OPERATOR_PLUS,
    Operation.ROUTE_COMPLETE: DRIVER,
    Operation.ROUTE_DELETE: ADMIN,
    Operation.QUANTUM_OPTIMIZE: OPERATOR_PLUS,
    Operation.QUANTUM_JOB_READ: ANY,
    Operation.QUANTUM_JOB_LIST: ANALYST_PLUS,
    Operation.QUANTUM_SIMULATE: ANALYST_PLUS,
    Operation.QUANTUM_HEALTH: ANY,
    # Telematics integrations post for any vehicle as an operator or admin.
    Operation.TRACKING_UPDATE: DRIVER | ADMIN_OPERATOR,
    Operation.TRACKING_READ: OPERATOR_PLUS,
    Operation.TRACKING_STREAM: OPERATOR_PLUS,
    Operation.TRACKING_DEVIATIONS: OPERATOR_PLUS,
    Operation.INCIDENT_CREATE: RESPONDER_PLUS,
    Operation.INCIDENT_LIST: RESPONDER_PLUS,
    Operation.INCIDENT_READ: RESPONDER_PLUS,
    Operation.INCIDENT_UPDATE: RESPONDER_PLUS,
    Operation.INCIDENT_DISPATCH: OPERATOR_PLUS,
    Operation.EXPERIENCE_READ: ANY,
    Operation.EXPERIENCE_UPDATE: ADMIN,
    Operation.ANALYTICS_READ: ANALYST_PLUS,
    Operation.WEBHOOK_LIST: ADMIN,
    Operation.WEBHOOK_CREATE: ADMIN,
    Operation.WEBHOOK_DELETE: ADMIN,
    Operation.WEBHOOK_DELIVERIES: ADMIN,
    Operation.AUDIT_READ: ADMIN,
}


def is_allowed(role: str, operation: Operation) -> bool:
    return role in ROLE_MATRIX[operation]


@functools.cache
def allowed_roles(operation: Operation) -> tuple[str, ...]:
    """The roles that may perform `operation`, for checks made in the database."""
    return tuple(sorted(ROLE_MATRIX[operation]))
