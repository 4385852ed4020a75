"""Sessions: access tokens plus rotating refresh tokens grouped in families (RFC 9700).

Each login starts a family. A refresh consumes its token and issues the next one; a token
presented after its successor was already used (or after the grace window) is reuse, which
revokes the whole family. Logout revokes the family and denylists the access token.
Every access token names its family (claim `sid`): a family that ends (logout, reuse, a
password change) has its access tokens refused too, for as long as they would live.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import Database, set_tenant
from core.errors import Unauthorized
from core.principal import Principal
from core.runtime import Security
from core.settings import Settings
from core.tokens import hash_token, new_opaque_token, parse_opaque_token
from models import RefreshToken, RefreshTokenFamily, User, Workspace
from models.enums import UserStatus
from services.audit import record_audit
from services.identity.views import Tokens, UserView, WorkspaceView

REFRESH_PREFIX = "rt"


def _now() -> datetime:
    return datetime.now(UTC)


async def start_session(
    *,
    session: AsyncSession,
    security: Security,
    settings: Settings,
    user: User,
    workspace: Workspace,
    family_id: UUID | None = None,
) -> Tokens:
    """Issue an access token and the first (or next) refresh token of a family."""
    if family_id is None:
        family = RefreshTokenFamily(workspace_id=workspace.id, user_id=user.id)
        session.add(family)
        await session.flush()
        family_id = family.id
    raw = new_opaque_token(REFRESH_PREFIX, workspace.id)
    session.add(
        RefreshToken(
            workspace_id=workspace.id,
            family_id=family_id,
            token_hash=hash_token(raw),
            expires_at=_now() + timedelta(seconds=settings.refresh_token_ttl_s),
        )
    )
    access = security.tokens.issue_access(
        user_id=user.id,
        workspace_id=workspace.id,
        organization_id=workspace.organization_id,
        role=str(user.role),
        session_id=family_id,
    )
    return Tokens(
        access_token=access.token,
        refresh_token=raw,
        expires_in=access.expires_in,
        user=UserView.of(user),
        workspace=WorkspaceView.of(workspace),
    )


async def active_member(session: AsyncSession, user_id: UUID) -> tuple[User, Workspace]:
    """The user and their workspace, both live, the user active; else UNAUTHORIZED."""
    row = (
        await session.exec(
            select(User, Workspace)
            .join(Workspace, col(Workspace.id) == col(User.workspace_id))
            .where(
                User.id == user_id,
                col(User.deleted_at).is_(None),
                col(Workspace.deleted_at).is_(None),
            )
        )
    ).first()
    if row is None or row[0].status != UserStatus.ACTIVE:
        raise Unauthorized("The account is not active")
    return row


async def refresh(
    *, db: Database, security: Security, settings: Settings, refresh_token: str
) -> Tokens:
    """Rotate `refresh_token`; reuse of a rotated token revokes its family."""
    workspace_id = parse_opaque_token(REFRESH_PREFIX, refresh_token)
    reuse_detected = False
    async with db.session(workspace_id) as session:
        # The row lock serialises concurrent refreshes of the same token.
        token = (
            await session.exec(
                select(RefreshToken)
                .where(RefreshToken.token_hash == hash_token(refresh_token))
                .with_for_update()
            )
        ).first()
        if token is None:
            raise Unauthorized("Invalid refresh token")
        family = await session.get(RefreshTokenFamily, token.family_id, with_for_update=True)
        if family is None:
            raise Unauthorized("This session was revoked")
        if family.revoked_at is not None:
            # Again, in case the denylist missed it when the family ended.
            await security.end_sessions([family.id])
            raise Unauthorized("This session was revoked")
        now = _now()
        if token.expires_at <= now:
            raise Unauthorized("Refresh token expired")
        if token.rotated_at is not None:
            successor_used = (
                await session.exec(
                    select(RefreshToken.id).where(
                        RefreshToken.family_id == family.id,
                        col(RefreshToken.rotated_at).is_not(None),
                        col(RefreshToken.created_at) > token.created_at,
                    )
                )
            ).first()
            in_grace = (now - token.rotated_at).total_seconds() <= settings.refresh_reuse_grace_s
            if in_grace and successor_used is None:
                raise Unauthorized("Refresh token already used")
            family.revoked_at, family.revoked_reason = now, "reuse_detected"
            await record_audit(
                session=session,
                actor=Principal(family.user_id, workspace_id, None, "system"),
                action="session.reuse_detected",
                resource_type="refresh_token_family",
                resource_id=family.id,
            )
            # The family's row is locked: no token of it is issued before this commits.
            await security.end_sessions([family.id])
            reuse_detected = True
        else:
            token.rotated_at = now
            user, workspace = await active_member(session, family.user_id)
            await set_tenant(session, workspace.id, organization_id=workspace.organization_id)
            return await start_session(
                session=session,
                security=security,
                settings=settings,
                user=user,
                workspace=workspace,
                family_id=family.id,
            )
    # Outside the transaction, so that the revocation above is committed. Whoever holds
    # an access token of this family (the thief included) is refused from now on.
    assert reuse_detected
    raise Unauthorized("Refresh token reuse detected: every token of this session was revoked")


async def logout(
    *, session: AsyncSession, security: Security, actor: Principal, refresh_token: str | None
) -> None:
    """End a session: the refresh token's family when one is given, else the family the
    access token was issued in. Its refresh tokens and every access token it issued stop
    working; the presented access token is denied in any case."""
    family: RefreshTokenFamily | None = None
    if refresh_token:
        if parse_opaque_token(REFRESH_PREFIX, refresh_token) != actor.workspace_id:
            raise Unauthorized("Invalid refresh token")
        token = (
            await session.exec(
                select(RefreshToken).where(RefreshToken.token_hash == hash_token(refresh_token))
            )
        ).first()
        family = await session.get(RefreshTokenFamily, token.family_id) if token else None
        if family is None or family.user_id != actor.user_id:
            raise Unauthorized("Invalid refresh token")
    elif actor.session_id is not None:
        family = await session.get(RefreshTokenFamily, actor.session_id)
    if family is not None:
        if family.revoked_at is None:
            family.revoked_at, family.revoked_reason = _now(), "logout"
            # The UPDATE waits for a refresh of this family in flight: its token is issued
            # before the denylist entry, which then covers it.
            await session.flush()
        # Before the commit: should Redis fail, the logout fails with it, and nothing of
        # the session is left usable without the user knowing.
        await security.end_sessions([family.id])
    if actor.token_id and actor.token_expires_at:
        await security.denylist.revoke(actor.token_id, expires_at=actor.token_expires_at)
    await record_audit(
        session=session,
        actor=actor,
        action="user.logout",
        resource_type="user",
        resource_id=actor.user_id,
    )
