"""Enumerations shared by tables, API inputs and GraphQL types (values are the spec's)."""

from __future__ import annotations

from enum import StrEnum


class UserRole(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    DRIVER = "driver"
    RESPONDER = "responder"
    VIEWER = "viewer"


class UserStatus(StrEnum):
    ACTIVE = "active"
    INACTIVE = "inactive"
    SUSPENDED = "suspended"
    PENDING_VERIFICATION = "pending_verification"


class VehicleStatus(StrEnum):
    AVAILABLE = "available"
    IN_TRANSIT = "in_transit"
    MAINTENANCE = "maintenance"
    OFFLINE = "offline"


class FuelType(StrEnum):
    PETROL = "petrol"
    DIESEL = "diesel"
    ELECTRIC = "electric"
    HYBRID = "hybrid"
    CNG = "cng"


class LocationType(StrEnum):
    WAREHOUSE = "warehouse"
    FARM = "farm"
    RESTAURANT = "restaurant"
    HOSPITAL = "hospital"
    CHECKPOINT = "checkpoint"
    DEPOT = "depot"
    CUSTOMER = "customer"
    MARKET = "market"
    STATION = "station"
    CUSTOM = "custom"


class RouteStatus(StrEnum):
    DRAFT = "draft"
    OPTIMIZING = "optimizing"
    OPTIMIZED = "optimized"
    DEPLOYED = "deployed"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class OptimizationMode(StrEnum):
    CLASSICAL = "classical"
    HYBRID = "hybrid"
    QUANTUM = "quantum"


class SolverType(StrEnum):
    CLASSICAL = "classical"
    HYBRID = "hybrid"
    QUANTUM = "quantum"


class JobStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"


class IncidentSeverity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class IncidentStatus(StrEnum):
    REPORTED = "reported"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class SlaState(StrEnum):
    ON_TRACK = "on_track"
    AT_RISK = "at_risk"
    BREACHED = "breached"
    MET = "met"


class ActiveMode(StrEnum):
    LOGISTICS = "logistics"
    FOOD = "food"
    AGRICULTURE = "agriculture"
    SMARTCITY = "smartcity"
    EMERGENCY = "emergency"
    DRIVER = "driver"


class Plan(StrEnum):
    FREE = "free"
    PRO = "pro"
    ENTERPRISE = "enterprise"


class Region(StrEnum):
    """Where a workspace's data is meant to live."""

    US_EAST = "us-east"
    US_WEST = "us-west"
    EU_WEST = "eu-west"
    EU_CENTRAL = "eu-central"
    AP_SOUTH = "ap-south"
    AP_SOUTHEAST = "ap-southeast"
    AP_NORTHEAST = "ap-northeast"
    SA_EAST = "sa-east"
    ME_CENTRAL = "me-central"
    AF_SOUTH = "af-south"


class VehicleType(StrEnum):
    CAR = "car"
    VAN = "van"
    TRUCK = "truck"
    MOTORBIKE = "motorbike"
    BIKE = "bike"
    CARGO_BIKE = "cargo_bike"
    BUS = "bus"
    AMBULANCE = "ambulance"
    FIRE_ENGINE = "fire_engine"
    POLICE_CAR = "police_car"
    TRACTOR = "tractor"
    OTHER = "other"
