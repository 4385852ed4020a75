"""The schema of spec section 4, plus refresh-token families and member invitations.

Revision ID: 0001
Revises:
Create Date: 2026-11-26 06:51:29.449709
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geography
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ENUM_TYPES = (
    "user_role",
    "user_status",
    "vehicle_status",
    "location_type",
    "route_status",
    "optimization_mode",
    "solver_type",
    "job_status",
    "incident_severity",
    "incident_status",
)


def upgrade() -> None:
    # Normally present already (the PostGIS template); needs a superuser otherwise.
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "analytics_events",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("entity_type", sa.Text(), nullable=False),
        sa.Column("entity_id", sa.Uuid(), nullable=True),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column(
            "payload",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", "created_at"),
        postgresql_partition_by="RANGE (created_at)",
    )
    op.create_index(
        "idx_analytics_workspace",
        "analytics_events",
        ["workspace_id", "event_type", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "audit_logs",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("resource_type", sa.Text(), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("ip_address", postgresql.INET(), nullable=True),
        sa.Column("user_agent", sa.Text(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_audit_resource", "audit_logs", ["resource_type", "resource_id"], unique=False
    )
    op.create_index(
        "idx_audit_user",
        "audit_logs",
        ["user_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_audit_workspace",
        "audit_logs",
        ["workspace_id", sa.literal_column("created_at DESC")],
        unique=False,
    )
    op.create_table(
        "organizations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("slug", sa.Text(), nullable=False),
        sa.Column("industry_default", sa.Text(), server_default="logistics", nullable=False),
        sa.Column("plan", sa.Text(), server_default="free", nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("plan IN ('free', 'pro', 'enterprise')", name="ck_organizations_plan"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("slug"),
    )
    op.create_index(
        "idx_organizations_slug",
        "organizations",
        ["slug"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("organization_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("region", sa.Text(), nullable=False),
        sa.Column(
            "settings",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("active_mode", sa.Text(), server_default="logistics", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "active_mode IN ('logistics', 'food', 'agriculture', 'smartcity', 'emergency', 'driver')",
            name="ck_workspaces_active_mode",
        ),
        sa.ForeignKeyConstraint(["organization_id"], ["organizations.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_workspaces_org",
        "workspaces",
        ["organization_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_geospatial_table(
        "locations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column(
            "geo",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "location_type",
            sa.Enum(
                "warehouse",
                "farm",
                "restaurant",
                "hospital",
                "checkpoint",
                "depot",
                "customer",
                "market",
                "station",
                "custom",
                name="location_type",
            ),
            server_default="custom",
            nullable=False,
        ),
        sa.Column(
            "contact_info",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "operating_hours",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=True,
        ),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_locations_geo",
        "locations",
        ["geo"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "idx_locations_type",
        "locations",
        ["workspace_id", "location_type"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_locations_workspace",
        "locations",
        ["workspace_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.Text(), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("full_name", sa.Text(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin", "operator", "analyst", "driver", "responder", "viewer", name="user_role"
            ),
            server_default="viewer",
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum("active", "inactive", "suspended", "pending_verification", name="user_status"),
            server_default="pending_verification",
            nullable=False,
        ),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("workspace_id", "email", name="unique_email_per_workspace"),
    )
    op.create_index(
        "idx_users_email",
        "users",
        ["email"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_users_workspace",
        "users",
        ["workspace_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_geospatial_table(
        "vehicles",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_type", sa.Text(), nullable=False),
        sa.Column("capacity_kg", sa.Integer(), server_default="0", nullable=False),
        sa.Column("capacity_volume_m3", sa.Float(), nullable=True),
        sa.Column("plate_number", sa.Text(), nullable=False),
        sa.Column(
            "status",
            sa.Enum("available", "in_transit", "maintenance", "offline", name="vehicle_status"),
            server_default="available",
            nullable=False,
        ),
        sa.Column(
            "last_location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
            ),
            nullable=True,
        ),
        sa.Column("last_location_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fuel_type", sa.Text(), nullable=True),
        sa.Column("max_range_km", sa.Float(), nullable=True),
        sa.Column(
            "metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "fuel_type IN ('petrol', 'diesel', 'electric', 'hybrid', 'cng')",
            name="ck_vehicles_fuel_type",
        ),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_vehicles_location",
        "vehicles",
        ["last_location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "idx_vehicles_status",
        "vehicles",
        ["workspace_id", "status"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_vehicles_workspace",
        "vehicles",
        ["workspace_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "drivers",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_id", sa.Uuid(), nullable=True),
        sa.Column("license_number", sa.Text(), nullable=False),
        sa.Column("license_expiry", sa.Date(), nullable=True),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("availability", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("rating", sa.Float(), server_default=sa.text("0.0"), nullable=True),
        sa.Column("total_trips", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("rating >= 0 AND rating <= 5", name="ck_drivers_rating"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_drivers_available",
        "drivers",
        ["availability"],
        unique=False,
        postgresql_where=sa.text("availability = true"),
    )
    op.create_index("idx_drivers_user", "drivers", ["user_id"], unique=True)
    op.create_index("idx_drivers_vehicle", "drivers", ["vehicle_id"], unique=True)
    op.create_index("idx_drivers_workspace", "drivers", ["workspace_id"], unique=False)
    op.create_geospatial_table(
        "incidents",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "severity",
            sa.Enum("critical", "high", "medium", "low", name="incident_severity"),
            nullable=False,
        ),
        sa.Column("incident_type", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column(
            "location",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "reported",
                "dispatched",
                "in_progress",
                "resolved",
                "closed",
                name="incident_status",
            ),
            server_default="reported",
            nullable=False,
        ),
        sa.Column("response_sla_minutes", sa.Integer(), nullable=True),
        sa.Column(
            "assigned_vehicles",
            postgresql.ARRAY(sa.Uuid()),
            server_default=sa.text("'{}'::uuid[]"),
            nullable=True,
        ),
        sa.Column("reported_by", sa.Uuid(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["reported_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_incidents_location",
        "incidents",
        ["location"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "idx_incidents_severity",
        "incidents",
        ["workspace_id", "severity"],
        unique=False,
        postgresql_where=sa.text("status <> 'closed'::incident_status"),
    )
    op.create_index(
        "idx_incidents_workspace", "incidents", ["workspace_id", "status"], unique=False
    )
    op.create_geospatial_table(
        "live_vehicle_positions",
        sa.Column("vehicle_id", sa.Uuid(), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "position",
            Geography(
                geometry_type="POINT",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("speed_kmh", sa.Float(), nullable=True),
        sa.Column("heading", sa.Float(), nullable=True),
        sa.Column("accuracy_m", sa.Float(), nullable=True),
        sa.Column("battery_pct", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("vehicle_id", "recorded_at"),
        postgresql_partition_by="RANGE (recorded_at)",
    )
    op.create_geospatial_index(
        "idx_live_pos_geo",
        "live_vehicle_positions",
        ["position"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index(
        "idx_live_pos_vehicle",
        "live_vehicle_positions",
        ["vehicle_id", sa.literal_column("recorded_at DESC")],
        unique=False,
    )
    op.create_index(
        "idx_live_pos_workspace",
        "live_vehicle_positions",
        ["workspace_id", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "member_invitations",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column("invited_by", sa.Uuid(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["invited_by"], ["users.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("idx_member_invitations_user", "member_invitations", ["user_id"], unique=False)
    op.create_table(
        "refresh_token_families",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_refresh_families_user", "refresh_token_families", ["user_id"], unique=False
    )
    op.create_table(
        "routes",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("vehicle_id", sa.Uuid(), nullable=True),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column(
            "optimization_mode",
            sa.Enum("classical", "hybrid", "quantum", name="optimization_mode"),
            server_default="classical",
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "optimizing",
                "optimized",
                "deployed",
                "in_progress",
                "completed",
                "cancelled",
                name="route_status",
            ),
            server_default="draft",
            nullable=False,
        ),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column("estimated_duration_minutes", sa.Integer(), nullable=True),
        sa.Column("actual_duration_minutes", sa.Integer(), nullable=True),
        sa.Column("optimization_score", sa.Float(), nullable=True),
        sa.Column(
            "constraints",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "optimization_score >= 0 AND optimization_score <= 100",
            name="ck_routes_optimization_score",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
        ),
        sa.ForeignKeyConstraint(["vehicle_id"], ["vehicles.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "idx_routes_created",
        "routes",
        ["workspace_id", sa.literal_column("created_at DESC")],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_routes_status",
        "routes",
        ["workspace_id", "status"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_routes_vehicle",
        "routes",
        ["vehicle_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_index(
        "idx_routes_workspace",
        "routes",
        ["workspace_id"],
        unique=False,
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "optimization_jobs",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=True),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column(
            "solver_type",
            sa.Enum("classical", "hybrid", "quantum", name="solver_type"),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "failed",
                "timeout",
                "cancelled",
                name="job_status",
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("input_hash", sa.Text(), nullable=False),
        sa.Column("input_data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("result_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("solution_quality_score", sa.Float(), nullable=True),
        sa.Column("execution_time_ms", sa.Integer(), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("retry_count", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("idx_opt_jobs_hash", "optimization_jobs", ["input_hash"], unique=False)
    op.create_index("idx_opt_jobs_route", "optimization_jobs", ["route_id"], unique=False)
    op.create_index(
        "idx_opt_jobs_status", "optimization_jobs", ["workspace_id", "status"], unique=False
    )
    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["family_id"], ["refresh_token_families.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("idx_refresh_tokens_family", "refresh_tokens", ["family_id"], unique=False)
    op.create_geospatial_table(
        "route_paths",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column(
            "path",
            Geography(
                geometry_type="LINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeogFromText",
                name="geography",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.Column("segment_index", sa.Integer(), server_default="0", nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_geospatial_index(
        "idx_route_paths_geo",
        "route_paths",
        ["path"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("idx_route_paths_route", "route_paths", ["route_id"], unique=False)
    op.create_index("idx_route_paths_workspace", "route_paths", ["workspace_id"], unique=False)
    op.create_table(
        "route_stops",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("route_id", sa.Uuid(), nullable=False),
        sa.Column("location_id", sa.Uuid(), nullable=False),
        sa.Column("stop_order", sa.Integer(), nullable=False),
        sa.Column("arrival_eta", sa.DateTime(timezone=True), nullable=True),
        sa.Column("departure_eta", sa.DateTime(timezone=True), nullable=True),
        sa.Column("actual_arrival", sa.DateTime(timezone=True), nullable=True),
        sa.Column("service_time_minutes", sa.Integer(), server_default="0", nullable=True),
        sa.Column("load_kg", sa.Float(), server_default=sa.text("0"), nullable=True),
        sa.Column("completed", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(["route_id"], ["routes.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("route_id", "stop_order", name="unique_stop_order"),
    )
    op.create_index("idx_route_stops_route", "route_stops", ["route_id"], unique=False)
    op.create_index("idx_route_stops_workspace", "route_stops", ["workspace_id"], unique=False)
    op.create_table(
        "quantum_jobs",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("optimization_job_id", sa.Uuid(), nullable=False),
        sa.Column("backend", sa.Text(), server_default="aer_simulator", nullable=False),
        sa.Column("qubits_used", sa.Integer(), nullable=False),
        sa.Column("circuit_depth", sa.Integer(), nullable=False),
        sa.Column("qaoa_layers", sa.Integer(), server_default="1", nullable=False),
        sa.Column("classical_optimizer", sa.Text(), server_default="COBYLA", nullable=False),
        sa.Column("result_energy", sa.Float(), nullable=True),
        sa.Column("result_bitstring", sa.Text(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "failed",
                "timeout",
                "cancelled",
                name="job_status",
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column("ibm_job_id", sa.Text(), nullable=True),
        sa.Column("raw_result", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("execution_time_ms", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["optimization_job_id"], ["optimization_jobs.id"], ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["workspace_id"], ["workspaces.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("idx_quantum_jobs_opt", "quantum_jobs", ["optimization_job_id"], unique=False)
    op.create_index("idx_quantum_jobs_status", "quantum_jobs", ["status"], unique=False)
    op.create_index("idx_quantum_jobs_workspace", "quantum_jobs", ["workspace_id"], unique=False)


def downgrade() -> None:
    op.drop_index("idx_quantum_jobs_workspace", table_name="quantum_jobs")
    op.drop_index("idx_quantum_jobs_status", table_name="quantum_jobs")
    op.drop_index("idx_quantum_jobs_opt", table_name="quantum_jobs")
    op.drop_table("quantum_jobs")
    op.drop_index("idx_route_stops_workspace", table_name="route_stops")
    op.drop_index("idx_route_stops_route", table_name="route_stops")
    op.drop_table("route_stops")
    op.drop_index("idx_route_paths_workspace", table_name="route_paths")
    op.drop_index("idx_route_paths_route", table_name="route_paths")
    op.drop_geospatial_index(
        "idx_route_paths_geo", table_name="route_paths", postgresql_using="gist", column_name="path"
    )
    op.drop_geospatial_table("route_paths")
    op.drop_index("idx_refresh_tokens_family", table_name="refresh_tokens")
    op.drop_table("refresh_tokens")
    op.drop_index("idx_opt_jobs_status", table_name="optimization_jobs")
    op.drop_index("idx_opt_jobs_route", table_name="optimization_jobs")
    op.drop_index("idx_opt_jobs_hash", table_name="optimization_jobs")
    op.drop_table("optimization_jobs")
    op.drop_index(
        "idx_routes_workspace", table_name="routes", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index(
        "idx_routes_vehicle", table_name="routes", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index(
        "idx_routes_status", table_name="routes", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index(
        "idx_routes_created", table_name="routes", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_table("routes")
    op.drop_index("idx_refresh_families_user", table_name="refresh_token_families")
    op.drop_table("refresh_token_families")
    op.drop_index("idx_member_invitations_user", table_name="member_invitations")
    op.drop_table("member_invitations")
    op.drop_index("idx_live_pos_workspace", table_name="live_vehicle_positions")
    op.drop_index("idx_live_pos_vehicle", table_name="live_vehicle_positions")
    op.drop_geospatial_index(
        "idx_live_pos_geo",
        table_name="live_vehicle_positions",
        postgresql_using="gist",
        column_name="position",
    )
    op.drop_geospatial_table("live_vehicle_positions")
    op.drop_index("idx_incidents_workspace", table_name="incidents")
    op.drop_index(
        "idx_incidents_severity",
        table_name="incidents",
        postgresql_where=sa.text("status <> 'closed'::incident_status"),
    )
    op.drop_geospatial_index(
        "idx_incidents_location",
        table_name="incidents",
        postgresql_using="gist",
        column_name="location",
    )
    op.drop_geospatial_table("incidents")
    op.drop_index("idx_drivers_workspace", table_name="drivers")
    op.drop_index("idx_drivers_vehicle", table_name="drivers")
    op.drop_index("idx_drivers_user", table_name="drivers")
    op.drop_index(
        "idx_drivers_available",
        table_name="drivers",
        postgresql_where=sa.text("availability = true"),
    )
    op.drop_table("drivers")
    op.drop_index(
        "idx_vehicles_workspace",
        table_name="vehicles",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "idx_vehicles_status", table_name="vehicles", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_geospatial_index(
        "idx_vehicles_location",
        table_name="vehicles",
        postgresql_using="gist",
        column_name="last_location",
    )
    op.drop_geospatial_table("vehicles")
    op.drop_index(
        "idx_users_workspace", table_name="users", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_index(
        "idx_users_email", table_name="users", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_table("users")
    op.drop_index(
        "idx_locations_workspace",
        table_name="locations",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_index(
        "idx_locations_type", table_name="locations", postgresql_where=sa.text("deleted_at IS NULL")
    )
    op.drop_geospatial_index(
        "idx_locations_geo", table_name="locations", postgresql_using="gist", column_name="geo"
    )
    op.drop_geospatial_table("locations")
    op.drop_index(
        "idx_workspaces_org",
        table_name="workspaces",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("workspaces")
    op.drop_index(
        "idx_organizations_slug",
        table_name="organizations",
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.drop_table("organizations")
    op.drop_index("idx_audit_workspace", table_name="audit_logs")
    op.drop_index("idx_audit_user", table_name="audit_logs")
    op.drop_index("idx_audit_resource", table_name="audit_logs")
    op.drop_table("audit_logs")
    op.drop_index("idx_analytics_workspace", table_name="analytics_events")
    op.drop_table("analytics_events")
    for enum in ENUM_TYPES:
        op.execute(f"DROP TYPE IF EXISTS {enum}")
    # The postgis extension stays: it was created by a superuser and other schemas may use it.
