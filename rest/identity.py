"""`/api/v1/auth/*` and `/api/v1/workspaces/*` over the identity services."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

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
from models.permissions import Operation
from rest.auth import authorize, client_ip, path_uuid
from rest.envelope import success
from rest.parsing import parse_body
from rest.serialize import to_json
from services.identity import accounts, sessions, workspaces


async def register(request: Request) -> JSONResponse:
    data = await parse_body(request, Registration)
    state = request.app.state
    tokens = await accounts.register(
        db=state.db, security=state.security, settings=state.settings, data=data
    )
    return success(to_json(tokens), status_code=201)


async def login(request: Request) -> JSONResponse:
    data = await parse_body(request, Login)
    state = request.app.state
    tokens = await accounts.login(
        db=state.db,
        security=state.security,
        settings=state.settings,
        data=data,
        ip=client_ip(request),
    )
    return success(to_json(tokens))


async def refresh(request: Request) -> JSONResponse:
    data = await parse_body(request, RefreshRequest)
    state = request.app.state
    tokens = await sessions.refresh(
        db=state.db,
        security=state.security,
        settings=state.settings,
        refresh_token=data.refresh_token,
    )
    return success(to_json(tokens))


async def logout(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.PROFILE_READ)
    data = await parse_body(request, LogoutRequest) if await request.body() else LogoutRequest()
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        await sessions.logout(
            session=session, security=state.security, actor=actor, refresh_token=data.refresh_token
        )
    return success({"logged_out": True})


async def me(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.PROFILE_READ)
    async with request.app.state.db.session(actor.workspace_id) as session:
        user, workspace = await accounts.get_profile(session=session, actor=actor)
    return success({"user": to_json(user), "workspace": to_json(workspace)})


async def update_me(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.PROFILE_UPDATE)
    data = await parse_body(request, ProfileUpdate)
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        user = await accounts.update_profile(
            session=session, security=state.security, actor=actor, data=data
        )
    return success({"user": to_json(user)})


async def switch_workspace(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WORKSPACE_SWITCH)
    data = await parse_body(request, SwitchWorkspace)
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        tokens = await accounts.switch_workspace(
            session=session,
            security=state.security,
            settings=state.settings,
            actor=actor,
            workspace_id=data.workspace_id,
        )
    return success(to_json(tokens))


async def accept_invitation(request: Request) -> JSONResponse:
    data = await parse_body(request, InvitationAcceptance)
    state = request.app.state
    async with state.db.session(None) as session:
        tokens = await workspaces.accept_invitation(
            session=session, security=state.security, settings=state.settings, data=data
        )
    return success(to_json(tokens))


async def jwks(request: Request) -> JSONResponse:
    return JSONResponse(request.app.state.security.tokens.jwks())


async def list_workspaces(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WORKSPACE_LIST)
    async with request.app.state.db.session(actor.workspace_id) as session:
        mine = await accounts.memberships(session=session, actor=actor)
    return success(to_json(mine), pagination={"page": 1, "per_page": len(mine), "total": len(mine)})


async def create_workspace(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WORKSPACE_CREATE)
    data = await parse_body(request, WorkspaceCreate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        workspace = await workspaces.create_workspace(session=session, actor=actor, data=data)
    return success(to_json(workspace), status_code=201)


async def get_workspace(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WORKSPACE_READ)
    workspace_id = path_uuid(request, "workspace_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        workspace = await workspaces.get_workspace(
            session=session, actor=actor, workspace_id=workspace_id
        )
    return success(to_json(workspace))


async def update_workspace(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WORKSPACE_UPDATE)
    workspace_id = path_uuid(request, "workspace_id")
    data = await parse_body(request, WorkspaceUpdate)
    async with request.app.state.db.session(actor.workspace_id) as session:
        workspace = await workspaces.update_workspace(
            session=session, actor=actor, workspace_id=workspace_id, data=data
        )
    return success(to_json(workspace))


async def delete_workspace(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.WORKSPACE_DELETE)
    workspace_id = path_uuid(request, "workspace_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        await workspaces.delete_workspace(session=session, actor=actor, workspace_id=workspace_id)
    return success({"id": str(workspace_id), "deleted": True})


async def list_members(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.MEMBER_LIST)
    workspace_id = path_uuid(request, "workspace_id")
    async with request.app.state.db.session(actor.workspace_id) as session:
        members = await workspaces.list_members(
            session=session, actor=actor, workspace_id=workspace_id
        )
    return success(
        to_json(members), pagination={"page": 1, "per_page": len(members), "total": len(members)}
    )


async def invite_member(request: Request) -> JSONResponse:
    actor = await authorize(request, Operation.MEMBER_INVITE)
    workspace_id = path_uuid(request, "workspace_id")
    data = await parse_body(request, MemberInvite)
    state = request.app.state
    async with state.db.session(actor.workspace_id) as session:
        invitation = await workspaces.invite_member(
            session=session,
            settings=state.settings,
            actor=actor,
            workspace_id=workspace_id,
            data=data,
        )
    return success(to_json(invitation), status_code=201)


routes: list[BaseRoute] = [
    Route("/auth/register", register, methods=["POST"]),
    Route("/auth/login", login, methods=["POST"]),
    Route("/auth/refresh", refresh, methods=["POST"]),
    Route("/auth/logout", logout, methods=["POST"]),
    Route("/auth/me", me, methods=["GET"]),
    Route("/auth/me", update_me, methods=["PATCH"]),
    Route("/auth/switch-workspace", switch_workspace, methods=["POST"]),
    Route("/auth/accept-invitation", accept_invitation, methods=["POST"]),
    Route("/auth/jwks", jwks, methods=["GET"]),
    Route("/workspaces", list_workspaces, methods=["GET"]),
    Route("/workspaces", create_workspace, methods=["POST"]),
    Route("/workspaces/{workspace_id}", get_workspace, methods=["GET"]),
    Route("/workspaces/{workspace_id}", update_workspace, methods=["PATCH"]),
    Route("/workspaces/{workspace_id}", delete_workspace, methods=["DELETE"]),
    Route("/workspaces/{workspace_id}/members", list_members, methods=["GET"]),
    Route("/workspaces/{workspace_id}/members", invite_member, methods=["POST"]),
]
