"""Validated input shapes of the identity operations, shared by REST and GraphQL."""

from __future__ import annotations

from typing import Any, Self
from uuid import UUID

from pydantic import EmailStr, Field, field_validator, model_validator

from core.validation import Body, JsonObject
from models.enums import ActiveMode, Region, UserRole

MIN_PASSWORD = 12
MAX_PASSWORD = 256


def normalise_email(email: str) -> str:
    return email.strip().lower()


class _EmailBody(Body):
    email: EmailStr

    @field_validator("email", mode="after")
    @classmethod
    def _lower(cls, email: str) -> str:
        return normalise_email(email)


def _check_password(password: str, email: str | None) -> None:
    if email and password.strip().lower() == email:
        raise ValueError("password must not be the email address")


class Registration(_EmailBody):
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    full_name: str = Field(min_length=1, max_length=200)
    organization_name: str = Field(min_length=2, max_length=200)
    workspace_name: str = Field(min_length=1, max_length=200)
    region: Region = Region.EU_WEST
    active_mode: ActiveMode = ActiveMode.LOGISTICS

    @model_validator(mode="after")
    def _password_policy(self) -> Self:
        _check_password(self.password, self.email)
        return self


class Login(Body):
    # Not EmailStr: a malformed address is just a failed login, never a different answer.
    email: str = Field(min_length=1, max_length=320)
    password: str = Field(min_length=1, max_length=MAX_PASSWORD)
    workspace_id: UUID | None = None


class RefreshRequest(Body):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutRequest(Body):
    """Without a refresh token only the access token is revoked."""

    refresh_token: str | None = Field(default=None, min_length=1, max_length=512)


class SwitchWorkspace(Body):
    workspace_id: UUID


class ProfileUpdate(Body):
    """What a user may change about themselves: not their role, workspace or email."""

    full_name: str | None = Field(default=None, min_length=1, max_length=200)
    password: str | None = Field(default=None, min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
    current_password: str | None = Field(default=None, max_length=MAX_PASSWORD)

    @model_validator(mode="after")
    def _password_change_needs_current(self) -> Self:
        if self.password is not None and not self.current_password:
            raise ValueError("current_password is required to change the password")
        return self


# How a workspace's plans are priced (services.roads.travel): road network where every
# point lies on it, always road (else refused), or always great-circle.
TRAVEL_SOURCES = ("auto", "road", "great_circle")


def _known_travel_source(settings: dict[str, Any] | None) -> dict[str, Any] | None:
    if settings and settings.get("travel_source", "auto") not in TRAVEL_SOURCES:
        raise ValueError(f"travel_source must be one of {', '.join(TRAVEL_SOURCES)}")
    return settings


class WorkspaceCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    region: Region
    active_mode: ActiveMode = ActiveMode.LOGISTICS
    settings: JsonObject = Field(default_factory=dict)

    _travel_source = field_validator("settings")(_known_travel_source)


class WorkspaceUpdate(Body):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    region: Region | None = None
    active_mode: ActiveMode | None = None
    settings: JsonObject | None = None

    _travel_source = field_validator("settings")(_known_travel_source)


class MemberInvite(_EmailBody):
    full_name: str = Field(min_length=1, max_length=200)
    role: UserRole = UserRole.VIEWER


class InvitationAcceptance(Body):
    token: str = Field(min_length=1, max_length=512)
    password: str = Field(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)
