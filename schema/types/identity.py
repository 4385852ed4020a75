"""Identity types: users, workspaces, memberships and session tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from models.enums import ActiveMode, Region, UserRole, UserStatus
from models.identity_inputs import (
    InvitationAcceptance,
    Login,
    MemberInvite,
    ProfileUpdate,
    Registration,
    WorkspaceCreate,
    WorkspaceUpdate,
)
from schema.requests import fields, request

Role = strawberry.enum(UserRole, name="UserRole")
Status = strawberry.enum(UserStatus, name="UserStatus")
Mode = strawberry.enum(ActiveMode, name="ActiveMode")
WorkspaceRegion = strawberry.enum(Region, name="Region")


@strawberry.type
class User:
    id: UUID
    workspace_id: UUID
    email: str
    full_name: str
    role: Role  # type: ignore[valid-type]
    status: Status  # type: ignore[valid-type]
    last_login_at: datetime | None
    created_at: datetime | None


def user_of(source: Any) -> User:
    """A User from anything with the user fields: a `users` row or a service view."""
    return User(
        id=source.id,
        workspace_id=source.workspace_id,
        email=source.email,
        full_name=source.full_name,
        role=source.role,
        status=source.status,
        last_login_at=source.last_login_at,
        created_at=source.created_at,
    )


@strawberry.type
class Workspace:
    id: UUID
    organization_id: UUID
    name: str
    region: str
    active_mode: str
    settings: JSON
    created_at: datetime | None


@strawberry.type(description="A workspace the caller belongs to, and their role there.")
class Membership:
    workspace_id: UUID
    workspace_name: str
    region: str
    active_mode: str
    role: Role  # type: ignore[valid-type]
    status: Status  # type: ignore[valid-type]


@strawberry.type
class Profile:
    user: User
    workspace: Workspace


@strawberry.type(description="A session: send `accessToken` as `Authorization: Bearer ...`.")
class AuthPayload:
    access_token: str
    refresh_token: str
    token_type: str
    expires_in: int = strawberry.field(description="Seconds until the access token expires.")
    user: User
    workspace: Workspace


@strawberry.type(description="Pass `token` to the invited person; it works once.")
class InvitationPayload:
    user: User
    token: str
    expires_at: datetime


@strawberry.input
class RegisterInput:
    def to_request(self) -> Registration:
        return request(Registration, self)

    email: str
    password: str
    full_name: str
    organization_name: str
    workspace_name: str
    region: WorkspaceRegion = Region.EU_WEST  # type: ignore[valid-type]
    active_mode: Mode = ActiveMode.LOGISTICS  # type: ignore[valid-type]


@strawberry.input
class LoginInput:
    def to_request(self) -> Login:
        return request(Login, self)

    email: str
    password: str
    workspace_id: UUID | None = None


@strawberry.input
class ProfileInput:
    def to_request(self) -> ProfileUpdate:
        return request(ProfileUpdate, self)

    full_name: str | None = strawberry.UNSET
    password: str | None = strawberry.UNSET
    current_password: str | None = strawberry.UNSET


@strawberry.input
class WorkspaceInput:
    def to_request(self) -> WorkspaceCreate:
        return request(WorkspaceCreate, self)

    name: str
    region: WorkspaceRegion  # type: ignore[valid-type]
    active_mode: Mode = ActiveMode.LOGISTICS  # type: ignore[valid-type]
    settings: JSON | None = strawberry.UNSET


@strawberry.input
class WorkspacePatch:
    def to_request(self) -> WorkspaceUpdate:
        return request(WorkspaceUpdate, self)

    name: str | None = strawberry.UNSET
    region: WorkspaceRegion | None = strawberry.UNSET  # type: ignore[valid-type]
    active_mode: Mode | None = strawberry.UNSET  # type: ignore[valid-type]
    settings: JSON | None = strawberry.UNSET


@strawberry.input
class InviteInput:
    def to_request(self) -> MemberInvite:
        return request(MemberInvite, self)

    email: str
    full_name: str
    role: Role = UserRole.VIEWER  # type: ignore[valid-type]


def invitation_acceptance(token: str, password: str) -> InvitationAcceptance:
    return fields(InvitationAcceptance, token=token, password=password)
