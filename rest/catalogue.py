"""What the OpenAPI document says of each `/api/v1` route: the role-matrix operation it
needs, the pydantic models it parses its body and query with, and its success status.

Keyed by (method, path) as mounted; tests/test_openapi.py fails when a route of the app is
missing here or an entry names no route."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from core.errors import ErrorCode
from models.analytics_inputs import ReportQuery
from models.fleet_inputs import (
    DriverCreate,
    DriverUpdate,
    LocationCreate,
    LocationUpdate,
    VehicleCreate,
    VehicleUpdate,
)
from models.identity_inputs import (
    InvitationAcceptance,
    Login,
    LogoutRequest,
    MemberInvite,
    ProfileUpdate,
    RefreshRequest,
    Registration,
    SwitchWorkspace,
    WorkspaceCreate,
    WorkspaceUpdate,
)
from models.notification_inputs import WebhookCreate
from models.operations_inputs import DispatchRequest, IncidentCreate, IncidentUpdate
from models.permissions import Operation as Op
from models.quantum_inputs import QuantumOptimizeRequest, QuantumSimulateRequest
from models.routing_inputs import FleetPlanRequest, OptimizeRequest, RouteCreate, RouteUpdate
from models.tracking_inputs import PositionBatch, PositionReport
from rest import drivers, incidents, locations, quantum, routing, vehicles, webhooks


@dataclass(frozen=True)
class Doc:
    operation: Op | None  # None: no bearer token needed
    summary: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    status: int = 200
    also: tuple[int, ...] = ()  # other success statuses
    paginated: bool = False
    listing: bool = False  # `data` is a list without pagination
    optional_body: bool = False
    raw_body: Mapping[str, Any] = field(default_factory=dict)  # media type -> schema
    idempotent: bool = False  # honours Idempotency-Key
    errors: tuple[ErrorCode, ...] = ()
    media_type: str = "application/json"  # of the success response
    enveloped: bool = True  # False: a standard document of its own (JWKS, OpenAPI)


_CONFLICT = (ErrorCode.CONFLICT,)
_ANY_OBJECT = {"type": "object"}

CATALOGUE: dict[tuple[str, str], Doc] = {
    ("GET", "/"): Doc(None, "The API's name, version and schema revision"),
    ("GET", "/openapi.json"): Doc(None, "This document", enveloped=False),
    ("GET", "/docs"): Doc(None, "This document as a reference page", media_type="text/html"),
    # Identity
    ("POST", "/auth/register"): Doc(
        None,
        "Create a user and a workspace; returns tokens",
        body=Registration,
        status=201,
        errors=_CONFLICT,
    ),
    ("POST", "/auth/login"): Doc(
        None,
        "Exchange email and password for tokens",
        body=Login,
        errors=(ErrorCode.UNAUTHORIZED,),
    ),
    ("POST", "/auth/refresh"): Doc(
        None, "Rotate a refresh token", body=RefreshRequest, errors=(ErrorCode.UNAUTHORIZED,)
    ),
    ("POST", "/auth/logout"): Doc(
        Op.PROFILE_READ, "Revoke this session (or all)", body=LogoutRequest, optional_body=True
    ),
    ("GET", "/auth/me"): Doc(Op.PROFILE_READ, "The caller"),
    ("PATCH", "/auth/me"): Doc(
        Op.PROFILE_UPDATE, "Update the caller's profile", body=ProfileUpdate
    ),
    ("POST", "/auth/switch-workspace"): Doc(
        Op.WORKSPACE_SWITCH, "Tokens for another workspace of the caller", body=SwitchWorkspace
    ),
    ("POST", "/auth/accept-invitation"): Doc(
        None,
        "Join a workspace with an invitation token",
        body=InvitationAcceptance,
        errors=_CONFLICT,
    ),
    ("GET", "/auth/jwks"): Doc(
        None, "The public keys that verify access tokens (RFC 7517)", enveloped=False
    ),
    ("GET", "/workspaces"): Doc(Op.WORKSPACE_LIST, "The caller's workspaces", paginated=True),
    ("POST", "/workspaces"): Doc(
        Op.WORKSPACE_CREATE,
        "Create a workspace",
        body=WorkspaceCreate,
        status=201,
        errors=_CONFLICT,
    ),
    ("GET", "/workspaces/{workspace_id}"): Doc(Op.WORKSPACE_READ, "A workspace"),
    ("PATCH", "/workspaces/{workspace_id}"): Doc(
        Op.WORKSPACE_UPDATE, "Update a workspace", body=WorkspaceUpdate, errors=_CONFLICT
    ),
    ("DELETE", "/workspaces/{workspace_id}"): Doc(Op.WORKSPACE_DELETE, "Delete a workspace"),
    ("GET", "/workspaces/{workspace_id}/members"): Doc(
        Op.MEMBER_LIST, "The workspace's members", paginated=True
    ),
    ("POST", "/workspaces/{workspace_id}/members"): Doc(
        Op.MEMBER_INVITE, "Invite a member", body=MemberInvite, status=201, errors=_CONFLICT
    ),
    # Fleet
    ("GET", "/vehicles"): Doc(
        Op.VEHICLE_LIST, "Vehicles", query=vehicles.VehicleListQuery, paginated=True
    ),
    ("POST", "/vehicles"): Doc(
        Op.VEHICLE_CREATE, "Add a vehicle", body=VehicleCreate, status=201, errors=_CONFLICT
    ),
    ("GET", "/vehicles/nearby"): Doc(
        Op.VEHICLE_NEARBY,
        "Vehicles near a point, closest first",
        query=vehicles.VehicleNearbyQuery,
        listing=True,
    ),
    ("GET", "/vehicles/{vehicle_id}"): Doc(Op.VEHICLE_READ, "A vehicle"),
    ("PATCH", "/vehicles/{vehicle_id}"): Doc(
        Op.VEHICLE_UPDATE, "Update a vehicle", body=VehicleUpdate, errors=_CONFLICT
    ),
    ("DELETE", "/vehicles/{vehicle_id}"): Doc(
        Op.VEHICLE_DELETE, "Delete a vehicle", errors=_CONFLICT
    ),
    ("GET", "/vehicles/{vehicle_id}/live"): Doc(Op.VEHICLE_LIVE, "A vehicle's latest position"),
    ("GET", "/vehicles/{vehicle_id}/history"): Doc(
        Op.VEHICLE_HISTORY, "A vehicle's positions over time", query=vehicles.HistoryQuery
    ),
    ("GET", "/drivers"): Doc(
        Op.DRIVER_LIST, "Drivers", query=drivers.DriverListQuery, paginated=True
    ),
    ("POST", "/drivers"): Doc(
        Op.DRIVER_CREATE, "Add a driver", body=DriverCreate, status=201, errors=_CONFLICT
    ),
    ("GET", "/drivers/{driver_id}"): Doc(Op.DRIVER_READ, "A driver"),
    ("PATCH", "/drivers/{driver_id}"): Doc(
        Op.DRIVER_UPDATE, "Update a driver", body=DriverUpdate, errors=_CONFLICT
    ),
    ("DELETE", "/drivers/{driver_id}"): Doc(Op.DRIVER_DELETE, "Delete a driver"),
    ("GET", "/locations"): Doc(
        Op.LOCATION_LIST, "Locations", query=locations.LocationListQuery, paginated=True
    ),
    ("POST", "/locations"): Doc(
        Op.LOCATION_CREATE, "Add a location", body=LocationCreate, status=201
    ),
    ("GET", "/locations/near"): Doc(
        Op.LOCATION_LIST,
        "Locations near a point, closest first",
        query=locations.LocationNearQuery,
        listing=True,
    ),
    ("POST", "/locations/import"): Doc(
        Op.LOCATION_IMPORT,
        "Import locations from CSV or a GeoJSON FeatureCollection",
        status=201,
        raw_body={
            "text/csv": {"schema": {"type": "string"}},
            "application/geo+json": {"schema": _ANY_OBJECT},
        },
    ),
    ("GET", "/locations/{location_id}"): Doc(Op.LOCATION_READ, "A location"),
    ("PATCH", "/locations/{location_id}"): Doc(
        Op.LOCATION_UPDATE, "Update a location", body=LocationUpdate
    ),
    ("DELETE", "/locations/{location_id}"): Doc(
        Op.LOCATION_DELETE, "Delete a location", errors=_CONFLICT
    ),
    # Routing
    ("GET", "/routes"): Doc(Op.ROUTE_LIST, "Routes", query=routing.RouteListQuery, paginated=True),
    ("POST", "/routes"): Doc(Op.ROUTE_CREATE, "Create a draft route", body=RouteCreate, status=201),
    ("POST", "/routes/plan"): Doc(
        Op.ROUTE_CREATE,
        "Spread stops over vehicles: draft routes and what did not fit",
        body=FleetPlanRequest,
        status=201,
        idempotent=True,
        errors=(ErrorCode.OPTIMIZATION_FAILED,),
    ),
    ("GET", "/routes/{route_id}"): Doc(Op.ROUTE_READ, "A route with its stops and path"),
    ("PATCH", "/routes/{route_id}"): Doc(
        Op.ROUTE_UPDATE, "Update a draft route", body=RouteUpdate, errors=_CONFLICT
    ),
    ("DELETE", "/routes/{route_id}"): Doc(Op.ROUTE_DELETE, "Delete a route", errors=_CONFLICT),
    ("POST", "/routes/{route_id}/optimize"): Doc(
        Op.ROUTE_OPTIMIZE,
        "Optimize a route: 202 with the job, or 200 with the route when ready within `wait`",
        body=OptimizeRequest,
        query=routing.OptimizeQuery,
        optional_body=True,
        status=202,
        also=(200,),
        idempotent=True,
        errors=(*_CONFLICT, ErrorCode.OPTIMIZATION_FAILED),
    ),
    ("POST", "/routes/{route_id}/reoptimize"): Doc(
        Op.ROUTE_OPTIMIZE, "Re-plan the rest of a route in progress", errors=_CONFLICT
    ),
    ("POST", "/routes/{route_id}/deploy"): Doc(
        Op.ROUTE_DEPLOY, "Hand an optimized route to its vehicle", errors=_CONFLICT
    ),
    ("POST", "/routes/{route_id}/complete"): Doc(
        Op.ROUTE_COMPLETE, "Mark a route done", errors=_CONFLICT
    ),
    ("POST", "/routes/{route_id}/cancel"): Doc(Op.ROUTE_UPDATE, "Cancel a route", errors=_CONFLICT),
    ("GET", "/jobs/{job_id}"): Doc(Op.ROUTE_READ, "An optimization job and its progress"),
    ("POST", "/jobs/{job_id}/cancel"): Doc(
        Op.ROUTE_OPTIMIZE, "Cancel an optimization job", errors=_CONFLICT
    ),
    # Quantum
    ("POST", "/quantum/optimize"): Doc(
        Op.QUANTUM_OPTIMIZE,
        "Start a quantum (QAOA) optimization",
        body=QuantumOptimizeRequest,
        query=quantum.OptimizeQuery,
        status=202,
        also=(200,),
        idempotent=True,
        errors=(ErrorCode.QUANTUM_TIMEOUT,),
    ),
    ("GET", "/quantum/jobs"): Doc(
        Op.QUANTUM_JOB_LIST, "Quantum jobs", query=quantum.JobListQuery, paginated=True
    ),
    ("GET", "/quantum/job/{job_id}"): Doc(
        Op.QUANTUM_JOB_READ, "A quantum job with its runs", errors=(ErrorCode.QUANTUM_TIMEOUT,)
    ),
    ("POST", "/quantum/simulate"): Doc(
        Op.QUANTUM_SIMULATE, "Simulate a small QUBO", body=QuantumSimulateRequest
    ),
    ("GET", "/quantum/health"): Doc(Op.QUANTUM_HEALTH, "The quantum backends' state"),
    # Tracking
    ("POST", "/tracking/update"): Doc(
        Op.TRACKING_UPDATE, "Report one position", body=PositionReport, status=201
    ),
    ("POST", "/tracking/batch"): Doc(
        Op.TRACKING_UPDATE,
        "Report up to 1,000 positions; each bad one is named by its index",
        body=PositionBatch,
        status=201,
        idempotent=True,
    ),
    ("GET", "/tracking/vehicle/{vehicle_id}"): Doc(Op.TRACKING_READ, "A vehicle's latest position"),
    ("GET", "/tracking/deviations"): Doc(
        Op.TRACKING_DEVIATIONS, "Active route deviations", listing=True
    ),
    # Webhooks and audit
    ("GET", "/webhooks"): Doc(
        Op.WEBHOOK_LIST, "Webhooks", query=webhooks.PageQuery, paginated=True
    ),
    ("POST", "/webhooks"): Doc(
        Op.WEBHOOK_CREATE,
        "Subscribe a URL to events; the secret is shown once",
        body=WebhookCreate,
        status=201,
    ),
    ("GET", "/webhooks/{webhook_id}"): Doc(Op.WEBHOOK_LIST, "A webhook"),
    ("DELETE", "/webhooks/{webhook_id}"): Doc(Op.WEBHOOK_DELETE, "Delete a webhook"),
    ("GET", "/webhooks/{webhook_id}/deliveries"): Doc(
        Op.WEBHOOK_DELIVERIES, "A webhook's deliveries", query=webhooks.PageQuery, paginated=True
    ),
    ("GET", "/audit-logs"): Doc(
        Op.AUDIT_READ,
        "The audit log, newest first (cursor-paged)",
        query=webhooks.AuditLogQuery,
        paginated=True,
    ),
    # Incidents and experience
    ("GET", "/incidents"): Doc(
        Op.INCIDENT_LIST, "Incidents", query=incidents.IncidentListQuery, paginated=True
    ),
    ("POST", "/incidents"): Doc(
        Op.INCIDENT_CREATE,
        "Report an incident",
        body=IncidentCreate,
        status=201,
        idempotent=True,
    ),
    ("GET", "/incidents/{incident_id}"): Doc(Op.INCIDENT_READ, "An incident with its units"),
    ("PATCH", "/incidents/{incident_id}"): Doc(
        Op.INCIDENT_UPDATE, "Update an incident", body=IncidentUpdate, errors=_CONFLICT
    ),
    ("POST", "/incidents/{incident_id}/dispatch"): Doc(
        Op.INCIDENT_DISPATCH,
        "Send the closest available units",
        body=DispatchRequest,
        optional_body=True,
        idempotent=True,
        errors=_CONFLICT,
    ),
    ("GET", "/experience/modes"): Doc(Op.EXPERIENCE_READ, "The experience modes", listing=True),
    ("GET", "/experience/{mode}"): Doc(Op.EXPERIENCE_READ, "A mode's configuration"),
    ("PATCH", "/experience/{mode}"): Doc(
        Op.EXPERIENCE_UPDATE,
        "Override a mode's configuration",
        raw_body={"application/json": {"schema": _ANY_OBJECT}},
    ),
    # Analytics reports, from the read models
    ("GET", "/analytics/routes"): Doc(
        Op.ANALYTICS_READ,
        "Routes by status, planned against actual, on-time stops and deviations",
        query=ReportQuery,
    ),
    ("GET", "/analytics/fleet"): Doc(
        Op.ANALYTICS_READ,
        "Fleet utilization, GPS distance, idle vehicles and incident response times",
        query=ReportQuery,
    ),
    ("GET", "/analytics/efficiency"): Doc(
        Op.ANALYTICS_READ,
        "Distance and time optimization saved, solver time and cache hits",
        query=ReportQuery,
    ),
    ("GET", "/analytics/quantum"): Doc(
        Op.ANALYTICS_READ,
        "Quantum and hybrid jobs against the classical answer on the same input",
        query=ReportQuery,
    ),
}
