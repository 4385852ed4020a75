"""Workspaces and their members (spec section 7).

A token is bound to one workspace: reads of another workspace of the organization go
through the person's memberships; changes apply to the token's own workspace only, and any
other id is answered exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import set_tenant
from core.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from core.passwords import hash_password
from core.principal import Principal
from core.runtime import Security
from core.settings import Settings
from core.tokens import hash_token, new_opaque_token, parse_opaque_token
from models import MemberInvitation, User, Workspace
from models.enums import UserRole, UserStatus
from models.identity_inputs import (
    InvitationAcceptance,
    MemberInvite,
    WorkspaceCreate,
    WorkspaceUpdate,
)
from services.audit import diff
from services.changes import record_change
from services.identity.accounts import memberships
from services.identity.sessions import active_member, start_session
from services.identity.views import Invitation, Tokens, UserView, WorkspaceView

INVITATION_PREFIX = "inv"
# Invited users have no password until they accept: this never verifies as Argon2.
NO_PASSWORD = "!invited"


async def _own_workspace(session: AsyncSession, actor: Principal, workspace_id: UUID) -> Workspace:
    workspace = (
        await session.get(Workspace, workspace_id) if workspace_id == actor.workspace_id else None
    )
    if workspace is None or workspace.deleted_at is not None:
        raise NotFound.resource("Workspace", workspace_id)
    return workspace


async def get_workspace(
    *, session: AsyncSession, actor: Principal, workspace_id: UUID
) -> WorkspaceView:
    if workspace_id == actor.workspace_id:
        return WorkspaceView.of(await _own_workspace(session, actor, workspace_id))
    for member in await memberships(session=session, actor=actor):
        if member.workspace_id == workspace_id and actor.organization_id is not None:
            return WorkspaceView(
                id=member.workspace_id,
                organization_id=actor.organization_id,
                name=member.workspace_name,
                region=member.region,
                active_mode=member.active_mode,
            )
    raise NotFound.resource("Workspace", workspace_id)


async def create_workspace(
    *, session: AsyncSession, actor: Principal, data: WorkspaceCreate
) -> WorkspaceView:
    """A new workspace in the actor's organization, with the actor as its admin."""
    me, current = await active_member(session, actor.user_id)
    workspace = Workspace(
        organization_id=current.organization_id,
        name=data.name,
        region=data.region.value,
        active_mode=data.active_mode.value,
        settings=data.settings,
    )
    await set_tenant(session, workspace.id, organization_id=current.organization_id)
    session.add(workspace)
    await session.flush()
    admin = User(
        workspace_id=workspace.id,
        email=me.email,
        password_hash=me.password_hash,
        full_name=me.full_name,
        role=UserRole.ADMIN,
        status=UserStatus.ACTIVE,
    )
    session.add(admin)
    await session.flush()
    in_new = Principal(admin.id, workspace.id, current.organization_id, UserRole.ADMIN.value)
    await record_change(
        session=session,
        actor=in_new,
        action="workspace.created",
        resource_type="workspace",
        resource_id=workspace.id,
        changes={"name": workspace.name, "created_from": str(actor.workspace_id)},
        event={"name": workspace.name, "region": workspace.region},
    )
    view = WorkspaceView.of(workspace)
    await set_tenant(session, actor.workspace_id, organization_id=actor.organization_id)
    return view


async def update_workspace(
    *, session: AsyncSession, actor: Principal, workspace_id: UUID, data: WorkspaceUpdate
) -> WorkspaceView:
    workspace = await _own_workspace(session, actor, workspace_id)
    fields = data.model_dump(exclude_unset=True, exclude_none=True, mode="json")
    before: dict[str, Any] = {key: getattr(workspace, key) for key in fields}
    for key, value in fields.items():
        setattr(workspace, key, value)
    workspace.updated_at = datetime.now(UTC)
    session.add(workspace)
    changes = diff(before, fields)
    await record_change(
        session=session,
        actor=actor,
        action="workspace.updated",
        resource_type="workspace",
        resource_id=workspace.id,
        changes=changes,
        event={"fields": sorted(changes)},
    )
    await session.flush()
    await session.refresh(workspace)
    return WorkspaceView.of(workspace)


async def delete_workspace(*, session: AsyncSession, actor: Principal, workspace_id: UUID) -> None:
    """Soft delete: the workspace and everything in it vanish from every read and login."""
    workspace = await _own_workspace(session, actor, workspace_id)
    workspace.deleted_at = datetime.now(UTC)
    session.add(workspace)
    await record_change(
        session=session,
        actor=actor,
        action="workspace.deleted",
        resource_type="workspace",
        resource_id=workspace.id,
    )


async def list_members(
    *, session: AsyncSession, actor: Principal, workspace_id: UUID
) -> list[UserView]:
    await _own_workspace(session, actor, workspace_id)
    users = await session.exec(
        select(User)
        .where(col(User.deleted_at).is_(None))
        .order_by(col(User.created_at), col(User.id))
    )
    return [UserView.of(user) for user in users]


async def invite_member(
    *,
    session: AsyncSession,
    settings: Settings,
    actor: Principal,
    workspace_id: UUID,
    data: MemberInvite,
) -> Invitation:
    """A pending user and a one-time token the admin passes on; accepting sets a password."""
    await _own_workspace(session, actor, workspace_id)
    taken = (await session.exec(select(User.id).where(User.email == data.email))).first()
    if taken is not None:
        raise Conflict(
            f"{data.email} is already a member of this workspace", details={"field": "email"}
        )
    user = User(
        workspace_id=workspace_id,
        email=data.email,
        password_hash=NO_PASSWORD,
        full_name=data.full_name,
        role=data.role,
        status=UserStatus.PENDING_VERIFICATION,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:
        raise Conflict(f"{data.email} is already a member of this workspace") from None
    token = new_opaque_token(INVITATION_PREFIX, workspace_id)
    expires_at = datetime.now(UTC) + timedelta(seconds=settings.invitation_ttl_s)
    session.add(
        MemberInvitation(
            workspace_id=workspace_id,
            user_id=user.id,
            token_hash=hash_token(token),
            invited_by=actor.user_id,
            expires_at=expires_at,
        )
    )
    await record_change(
        session=session,
        actor=actor,
        action="member.invited",
        resource_type="user",
        resource_id=user.id,
        changes={"email": user.email, "role": str(user.role)},
        event={"role": str(user.role)},
    )
    await session.flush()
    return Invitation(user=UserView.of(user), token=token, expires_at=expires_at)


async def accept_invitation(
    *,
    session: AsyncSession,
    security: Security,
    settings: Settings,
    data: InvitationAcceptance,
) -> Tokens:
    """Set the invited user's password, activate them and start their first session."""
    workspace_id = parse_opaque_token(INVITATION_PREFIX, data.token)
    await set_tenant(session, workspace_id)
    invitation = (
        await session.exec(
            select(MemberInvitation)
            .where(MemberInvitation.token_hash == hash_token(data.token))
            .with_for_update()
        )
    ).first()
    now = datetime.now(UTC)
    if invitation is None or invitation.accepted_at is not None or invitation.expires_at <= now:
        raise Unauthorized("Invalid or expired invitation")
    user = await session.get(User, invitation.user_id)
    workspace = await session.get(Workspace, workspace_id)
    if user is None or workspace is None or workspace.deleted_at is not None or user.deleted_at:
        raise Unauthorized("Invalid or expired invitation")
    await set_tenant(session, workspace_id, organization_id=workspace.organization_id)
    if data.password.strip().lower() == user.email:
        raise ValidationFailed.field("password", "must not be the email address")
    user.password_hash = hash_password(data.password)
    user.status = UserStatus.ACTIVE
    user.last_login_at = now
    invitation.accepted_at = now
    session.add_all([user, invitation])
    actor = Principal(user.id, workspace_id, workspace.organization_id, str(user.role))
    await record_change(
        session=session,
        actor=actor,
        action="member.joined",
        resource_type="user",
        resource_id=user.id,
        event={"role": str(user.role)},
    )
    await session.flush()
    return await start_session(
        session=session, security=security, settings=settings, user=user, workspace=workspace
    )
