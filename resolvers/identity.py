"""Identity queries and mutations over `services.identity`."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from schema.context import Context
from schema.payloads import (
    AuthResult,
    Done,
    DoneResult,
    InvitationResult,
    UserResult,
    WorkspaceResult,
)
from schema.permissions import Operation, requires
from schema.types.identity import (
    AuthPayload,
    InvitationPayload,
    InviteInput,
    LoginInput,
    Membership,
    Profile,
    ProfileInput,
    RegisterInput,
    User,
    Workspace,
    WorkspaceInput,
    WorkspacePatch,
    invitation_acceptance,
    user_of,
)
from services.identity import accounts, sessions, workspaces
from services.identity.views import Invitation, Tokens, WorkspaceView

Ctx = Info[Context, None]


def _workspace(view: WorkspaceView) -> Workspace:
    return Workspace(
        id=view.id,
        organization_id=view.organization_id,
        name=view.name,
        region=view.region,
        active_mode=view.active_mode,
        settings=JSON(view.settings),
        created_at=view.created_at,
    )


def _auth(tokens: Tokens) -> AuthPayload:
    return AuthPayload(
        access_token=tokens.access_token,
        refresh_token=tokens.refresh_token,
        token_type=tokens.token_type,
        expires_in=tokens.expires_in,
        user=user_of(tokens.user),
        workspace=_workspace(tokens.workspace),
    )


def _invitation(invitation: Invitation) -> InvitationPayload:
    return InvitationPayload(
        user=user_of(invitation.user), token=invitation.token, expires_at=invitation.expires_at
    )


@strawberry.type
class IdentityQuery:
    @strawberry.field(extensions=requires(Operation.PROFILE_READ))
    async def me(self, info: Ctx) -> Profile:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            user, workspace = await accounts.get_profile(session=session, actor=actor)
        return Profile(user=user_of(user), workspace=_workspace(workspace))

    @strawberry.field(extensions=requires(Operation.WORKSPACE_LIST))
    async def workspaces(self, info: Ctx) -> list[Membership]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            mine = await accounts.memberships(session=session, actor=actor)
        return [
            Membership(
                workspace_id=m.workspace_id,
                workspace_name=m.workspace_name,
                region=m.region,
                active_mode=m.active_mode,
                role=m.role,
                status=m.status,
            )
            for m in mine
        ]

    @strawberry.field(extensions=requires(Operation.WORKSPACE_READ))
    async def workspace(self, info: Ctx, id: UUID) -> Workspace:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            view = await workspaces.get_workspace(session=session, actor=actor, workspace_id=id)
        return _workspace(view)

    @strawberry.field(extensions=requires(Operation.MEMBER_LIST))
    async def members(self, info: Ctx, workspace_id: UUID) -> list[User]:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            users = await workspaces.list_members(
                session=session, actor=actor, workspace_id=workspace_id
            )
        return [user_of(u) for u in users]


@strawberry.type
class IdentityMutation:
    @strawberry.mutation(description="Create an organization, its first workspace and admin.")
    async def register(self, info: Ctx, input: RegisterInput) -> AuthResult:
        ctx = info.context
        data = input.to_request()
        return _auth(
            await accounts.register(
                db=ctx.db, security=ctx.security, settings=ctx.settings, data=data
            )
        )

    @strawberry.mutation
    async def login(self, info: Ctx, input: LoginInput) -> AuthResult:
        ctx = info.context
        data = input.to_request()
        return _auth(
            await accounts.login(
                db=ctx.db, security=ctx.security, settings=ctx.settings, data=data, ip=ctx.client_ip
            )
        )

    @strawberry.mutation(description="Rotate a refresh token; a reused one revokes its session.")
    async def refresh_token(self, info: Ctx, refresh_token: str) -> AuthResult:
        ctx = info.context
        return _auth(
            await sessions.refresh(
                db=ctx.db, security=ctx.security, settings=ctx.settings, refresh_token=refresh_token
            )
        )

    @strawberry.mutation(extensions=requires(Operation.PROFILE_READ))
    async def logout(self, info: Ctx, refresh_token: str | None = None) -> DoneResult:
        ctx = info.context
        actor = await ctx.principal()
        async with ctx.db.session(actor.workspace_id) as session:
            await sessions.logout(
                session=session, security=ctx.security, actor=actor, refresh_token=refresh_token
            )
        return Done()

    @strawberry.mutation(extensions=requires(Operation.PROFILE_UPDATE))
    async def update_profile(self, info: Ctx, input: ProfileInput) -> UserResult:
        ctx = info.context
        actor = await ctx.principal()
        data = input.to_request()
        async with ctx.db.session(actor.workspace_id) as session:
            user = await accounts.update_profile(
                session=session, security=ctx.security, actor=actor, data=data
            )
        return user_of(user)

    @strawberry.mutation(extensions=requires(Operation.WORKSPACE_SWITCH))
    async def switch_workspace(self, info: Ctx, workspace_id: UUID) -> AuthResult:
        ctx = info.context
        actor = await ctx.principal()
        async with ctx.db.session(actor.workspace_id) as session:
            tokens = await accounts.switch_workspace(
                session=session,
                security=ctx.security,
                settings=ctx.settings,
                actor=actor,
                workspace_id=workspace_id,
            )
        return _auth(tokens)

    @strawberry.mutation(extensions=requires(Operation.WORKSPACE_CREATE))
    async def create_workspace(self, info: Ctx, input: WorkspaceInput) -> WorkspaceResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            view = await workspaces.create_workspace(session=session, actor=actor, data=data)
        return _workspace(view)

    @strawberry.mutation(extensions=requires(Operation.WORKSPACE_UPDATE))
    async def update_workspace(self, info: Ctx, id: UUID, input: WorkspacePatch) -> WorkspaceResult:
        actor = await info.context.principal()
        data = input.to_request()
        async with info.context.db.session(actor.workspace_id) as session:
            view = await workspaces.update_workspace(
                session=session, actor=actor, workspace_id=id, data=data
            )
        return _workspace(view)

    @strawberry.mutation(extensions=requires(Operation.WORKSPACE_DELETE))
    async def delete_workspace(self, info: Ctx, id: UUID) -> DoneResult:
        actor = await info.context.principal()
        async with info.context.db.session(actor.workspace_id) as session:
            await workspaces.delete_workspace(session=session, actor=actor, workspace_id=id)
        return Done()

    @strawberry.mutation(extensions=requires(Operation.MEMBER_INVITE))
    async def invite_member(
        self, info: Ctx, workspace_id: UUID, input: InviteInput
    ) -> InvitationResult:
        ctx = info.context
        actor = await ctx.principal()
        data = input.to_request()
        async with ctx.db.session(actor.workspace_id) as session:
            invitation = await workspaces.invite_member(
                session=session,
                settings=ctx.settings,
                actor=actor,
                workspace_id=workspace_id,
                data=data,
            )
        return _invitation(invitation)

    @strawberry.mutation(description="Set a password with an invitation token; returns a session.")
    async def accept_invitation(self, info: Ctx, token: str, password: str) -> AuthResult:
        ctx = info.context
        data = invitation_acceptance(token, password)
        async with ctx.db.session(None) as session:
            tokens = await workspaces.accept_invitation(
                session=session, security=ctx.security, settings=ctx.settings, data=data
            )
        return _auth(tokens)
