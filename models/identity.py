"""Identity context: organizations, workspaces (the tenant boundary), users, sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from core.crypto import EncryptedText
from models.columns import (
    created_at,
    jsonb,
    live,
    pg_enum,
    timestamp,
    updated_at,
    uuid_pk,
    workspace_fk,
)
from models.enums import ActiveMode, Plan, UserRole, UserStatus


class Organization(SQLModel, table=True):
    __tablename__ = "organizations"
    __table_args__ = (
        sa.CheckConstraint("plan IN ('free', 'pro', 'enterprise')", name="ck_organizations_plan"),
        live("idx_organizations_slug", "slug"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    slug: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    industry_default: str = Field(
        default="logistics",
        sa_column=sa.Column(sa.Text, nullable=False, server_default="logistics"),
    )
    plan: str = Field(
        default=Plan.FREE.value, sa_column=sa.Column(sa.Text, nullable=False, server_default="free")
    )
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=jsonb())
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())


class Workspace(SQLModel, table=True):
    __tablename__ = "workspaces"
    __table_args__ = (
        sa.CheckConstraint(
            "active_mode IN"
            " ('logistics', 'food', 'agriculture', 'smartcity', 'emergency', 'driver')",
            name="ck_workspaces_active_mode",
        ),
        live("idx_workspaces_org", "organization_id"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    organization_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid, sa.ForeignKey("organizations.id", ondelete="CASCADE"), nullable=False
        )
    )
    name: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    region: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=jsonb())
    active_mode: str = Field(
        default=ActiveMode.LOGISTICS.value,
        sa_column=sa.Column(sa.Text, nullable=False, server_default="logistics"),
    )
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "email", name="unique_email_per_workspace"),
        live("idx_users_workspace", "workspace_id"),
        live("idx_users_email", "email"),
    )

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    email: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    password_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    full_name: str = Field(sa_column=sa.Column(EncryptedText("users.full_name"), nullable=False))
    role: UserRole = Field(
        default=UserRole.VIEWER,
        sa_column=pg_enum(UserRole, "user_role", nullable=False, server_default="viewer"),
    )
    status: UserStatus = Field(
        default=UserStatus.PENDING_VERIFICATION,
        sa_column=pg_enum(
            UserStatus, "user_status", nullable=False, server_default="pending_verification"
        ),
    )
    last_login_at: datetime | None = Field(default=None, sa_column=timestamp())
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    updated_at: datetime | None = Field(default=None, sa_column=updated_at())
    deleted_at: datetime | None = Field(default=None, sa_column=timestamp())


class RefreshTokenFamily(SQLModel, table=True):
    """All refresh tokens descended from one login; reuse of a rotated one revokes the family."""

    __tablename__ = "refresh_token_families"
    __table_args__ = (sa.Index("idx_refresh_families_user", "user_id"),)

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    user_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    revoked_at: datetime | None = Field(default=None, sa_column=timestamp())
    revoked_reason: str | None = Field(default=None, sa_column=sa.Column(sa.Text))


class RefreshToken(SQLModel, table=True):
    __tablename__ = "refresh_tokens"
    __table_args__ = (sa.Index("idx_refresh_tokens_family", "family_id"),)

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    family_id: UUID = Field(
        sa_column=sa.Column(
            sa.Uuid,
            sa.ForeignKey("refresh_token_families.id", ondelete="CASCADE"),
            nullable=False,
        )
    )
    token_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    expires_at: datetime = Field(sa_column=timestamp(nullable=False))
    rotated_at: datetime | None = Field(default=None, sa_column=timestamp())


class MemberInvitation(SQLModel, table=True):
    """A one-time token that lets an invited (pending) user set a password."""

    __tablename__ = "member_invitations"
    __table_args__ = (sa.Index("idx_member_invitations_user", "user_id"),)

    id: UUID = Field(default_factory=uuid4, sa_column=uuid_pk())
    workspace_id: UUID = Field(sa_column=workspace_fk())
    user_id: UUID = Field(
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False)
    )
    token_hash: str = Field(sa_column=sa.Column(sa.Text, nullable=False, unique=True))
    invited_by: UUID | None = Field(
        default=None,
        sa_column=sa.Column(sa.Uuid, sa.ForeignKey("users.id", ondelete="SET NULL")),
    )
    created_at: datetime | None = Field(default=None, sa_column=created_at())
    expires_at: datetime = Field(sa_column=timestamp(nullable=False))
    accepted_at: datetime | None = Field(default=None, sa_column=timestamp())
