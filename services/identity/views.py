"""What the identity services return: plain, serialisable views of rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from models import User, Workspace


@dataclass(frozen=True, slots=True)
class UserView:
    id: UUID
    workspace_id: UUID
    email: str
    full_name: str
    role: str
    status: str
    last_login_at: datetime | None
    created_at: datetime | None

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            id=user.id,
            workspace_id=user.workspace_id,
            email=user.email,
            full_name=user.full_name,
            role=str(user.role),
            status=str(user.status),
            last_login_at=user.last_login_at,
            created_at=user.created_at,
        )


@dataclass(frozen=True, slots=True)
class WorkspaceView:
    id: UUID
    organization_id: UUID
    name: str
    region: str
    active_mode: str
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @classmethod
    def of(cls, workspace: Workspace) -> WorkspaceView:
        return cls(
            id=workspace.id,
            organization_id=workspace.organization_id,
            name=workspace.name,
            region=workspace.region,
            active_mode=workspace.active_mode,
            settings=dict(workspace.settings or {}),
            created_at=workspace.created_at,
        )


@dataclass(frozen=True, slots=True)
class Membership:
    """One workspace a person belongs to, and their role there."""

    workspace_id: UUID
    workspace_name: str
    region: str
    active_mode: str
    user_id: UUID
    role: str
    status: str


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str
    refresh_token: str
    expires_in: int
    user: UserView
    workspace: WorkspaceView
    token_type: str = "bearer"


@dataclass(frozen=True, slots=True)
class Invitation:
    user: UserView
    token: str
    expires_at: datetime
