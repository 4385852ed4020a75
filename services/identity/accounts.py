"""Accounts: registration, login, authentication of a bearer token, the own profile."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import re
import secrets
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from core.db import Database, set_tenant
from core.errors import NotFound, RateLimited, Unauthorized, ValidationFailed
from core.outages import REDIS_DOWN
from core.passwords import hash_password, needs_rehash, verify_password
from core.principal import Principal
from core.ratelimit import Budget, Decision
from core.runtime import Security
from core.settings import Settings
from core.throttle import Backoff
from core.tokens import AccessClaims
from models import Organization, RefreshTokenFamily, User, Workspace
from models.enums import UserRole, UserStatus
from models.identity_inputs import Login, ProfileUpdate, Registration, normalise_email
from services.audit import diff, record_audit
from services.changes import record_change
from services.events import emit
from services.identity.access import Member, active_members
from services.identity.sessions import active_member, start_session
from services.identity.views import Membership, Tokens, UserView, WorkspaceView

INVALID_LOGIN = "Invalid email or password"


def slugify(name: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")
    return slug[:48] or "org"


async def register(
    *, db: Database, security: Security, settings: Settings, data: Registration
) -> Tokens:
    """A new organization with its first workspace and an active admin; returns tokens."""
    organization = Organization(name=data.organization_name, slug=slugify(data.organization_name))
    workspace = Workspace(
        organization_id=organization.id,
        name=data.workspace_name,
        region=data.region.value,
        active_mode=data.active_mode.value,
    )
    async with db.session(workspace.id, organization_id=organization.id) as session:
        # Slugs are unique across tenants, which this session cannot see: try, then suffix.
        for attempt in range(5):
            try:
                async with session.begin_nested():
                    session.add(organization)
                    await session.flush()
                break
            except IntegrityError:
                if attempt == 4:
                    raise
                organization.slug = f"{slugify(data.organization_name)}-{secrets.token_hex(3)}"
        session.add(workspace)
        await session.flush()
        user = User(
            workspace_id=workspace.id,
            email=data.email,
            password_hash=hash_password(data.password),
            full_name=data.full_name,
            role=UserRole.ADMIN,
            status=UserStatus.ACTIVE,
            last_login_at=datetime.now(UTC),
        )
        session.add(user)
        await session.flush()
        actor = Principal(user.id, workspace.id, organization.id, UserRole.ADMIN.value)
        await record_change(
            session=session,
            actor=actor,
            action="organization.registered",
            resource_type="organization",
            resource_id=organization.id,
            changes={"slug": organization.slug, "workspace": workspace.name, "email": user.email},
            event={"slug": organization.slug, "workspace_id": str(workspace.id)},
        )
        return await start_session(
            session=session, security=security, settings=settings, user=user, workspace=workspace
        )


def _throttle_keys(email: str, ip: str | None) -> list[tuple[str, str]]:
    account = hashlib.sha256(email.encode()).hexdigest()[:32]
    keys = [("account", f"acct:{account}")]
    if ip:
        keys.append(("ip", f"ip:{ip}"))
    return keys


async def login(
    *, db: Database, security: Security, settings: Settings, data: Login, ip: str | None
) -> Tokens:
    """Check the password (at the same cost whether or not the account exists) and start a
    session bound to one workspace: `data.workspace_id`, else the oldest active membership."""
    email = normalise_email(data.email)
    keys = _throttle_keys(email, ip)
    scopes = {key: scope for scope, key in keys}
    # Counted as a failure until it succeeds, so that parallel guesses are throttled too.
    wait = await security.login_throttle.reserve(
        [
            (
                key,
                Backoff(
                    settings.login_free_failures_per_account
                    if scope == "account"
                    else settings.login_free_failures_per_ip,
                    settings.login_max_delay_s,
                ),
            )
            for scope, key in keys
        ]
    )
    if wait is not None:
        raise RateLimited(wait.seconds, scope=f"login {scopes[wait.key]}")
    async with db.session(None) as session:
        rows = (
            await session.execute(
                text("SELECT * FROM auth_login_candidates(:email)"), {"email": email}
            )
        ).mappings()
        candidates = [
            r for r in rows if data.workspace_id is None or r["workspace_id"] == data.workspace_id
        ]
        active = [r for r in candidates if r["status"] == UserStatus.ACTIVE.value]
        chosen = next(iter(active or candidates), None)
        verified = verify_password(chosen["password_hash"] if chosen else None, data.password)
        if chosen is not None and verified:
            if chosen["status"] != UserStatus.ACTIVE.value:
                raise Unauthorized("The account is not active")
            await set_tenant(
                session, chosen["workspace_id"], organization_id=chosen["organization_id"]
            )
            user, workspace = await active_member(session, chosen["user_id"])
            user.last_login_at = datetime.now(UTC)
            if needs_rehash(user.password_hash):
                # Stronger hashing parameters take effect at each account's next login.
                user.password_hash = hash_password(data.password)
            session.add(user)
            actor = Principal(user.id, workspace.id, workspace.organization_id, str(user.role))
            await record_change(
                session=session,
                actor=actor,
                action="user.login",
                resource_type="user",
                resource_id=user.id,
                event={"ip_address": ip},
            )
            tokens = await start_session(
                session=session,
                security=security,
                settings=settings,
                user=user,
                workspace=workspace,
            )
    if chosen is None or not verified:
        raise Unauthorized(INVALID_LOGIN)
    await security.login_throttle.clear(keys[0][1])
    for _, key in keys[1:]:
        await security.login_throttle.refund(key)
    return tokens


async def admit(
    *,
    security: Security,
    token: str,
    charge: RateCharge | None = None,
    read_only: bool = False,
) -> AccessClaims:
    """A bearer token's claims once its signature and claims are valid, it is not logged
    out, and the request is within the user's and workspace's rate limits: all of
    `authenticate` but the membership check, which the caller makes in its own
    transaction (Database.read with a MemberCheck). Redis unreachable: as `authenticate`."""
    claims = security.tokens.verify_access(token)
    try:
        decision = await security.admission.admit(
            claims.jti,
            charge.budgets(claims.user_id, claims.workspace_id) if charge else (),
            cost=charge.cost if charge else 0,
            session_id=claims.session_id,
        )
    except REDIS_DOWN:
        if not read_only:
            raise
        decision = Decision(True, 0)
    _refuse(decision)
    return claims


async def authenticate(
    *,
    db: Database,
    security: Security,
    token: str,
    charge: RateCharge | None = None,
    read_only: bool = False,
) -> Principal:
    """The principal behind a bearer token: valid signature and claims, not logged out,
    and a user who still exists, is active, in a workspace that still exists. With
    `charge`, the request is also charged to the user's and workspace's rate limits, in the
    same round trip as the revocation check.

    While Redis is unreachable a `read_only` request is admitted on its signed, unexpired
    token and the membership check alone (revocations and rate limits live in Redis);
    any other request fails with the outage (503)."""
    claims = security.tokens.verify_access(token)
    budgets = charge.budgets(claims.user_id, claims.workspace_id) if charge else ()
    members = active_members(db)
    # Redis (revocation, rate limits) and PostgreSQL (still a member) are asked at once: one
    # round trip of waiting instead of two. A refused request's membership check is shared
    # with every other request waiting at that moment (ActiveMembers), so a flood of
    # refused requests still costs the database one query at a time.
    try:
        decision, member = await _both(
            security.admission.admit(
                claims.jti,
                budgets,
                cost=charge.cost if charge else 0,
                session_id=claims.session_id,
            ),
            members.get(claims.user_id, claims.workspace_id),
        )
    except REDIS_DOWN:
        if not read_only:
            raise
        decision = Decision(True, 0)
        member = await members.get(claims.user_id, claims.workspace_id)
    _refuse(decision)
    return _principal(claims, member)


async def principal_of(*, db: Database, claims: AccessClaims) -> Principal:
    """The principal of claims that `admit` let through: its membership checked."""
    return _principal(claims, await active_members(db).get(claims.user_id, claims.workspace_id))


def _principal(claims: AccessClaims, member: Member | None) -> Principal:
    if member is None:
        raise Unauthorized("The account is not active")
    return Principal(
        user_id=claims.user_id,
        workspace_id=claims.workspace_id,
        organization_id=member.organization_id,
        role=member.role,
        token_id=claims.jti,
        token_expires_at=claims.expires_at,
        session_id=claims.session_id,
    )


def _refuse(decision: Decision) -> None:
    if decision.revoked:
        raise Unauthorized("This access token was revoked")
    if not decision.allowed:
        raise RateLimited(decision.retry_after_s, scope="user or workspace")


async def still_admitted(*, db: Database, security: Security, actor: Principal) -> bool:
    """Whether a connection opened as `actor` may go on: its token and its session were not
    revoked, and the user is still active in a live workspace. The token's expiry is not
    asked: a socket outlives the token it was opened with, not the session."""
    if actor.token_id is None:
        return True
    revoked, member = await _both(
        security.denylist.is_revoked(actor.token_id, actor.session_id),
        active_members(db).get(actor.user_id, actor.workspace_id),
    )
    return not revoked and member is not None


A = TypeVar("A")
B = TypeVar("B")


async def _both(first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
    """Both results, awaited together (the second in a task of its own, the first in this
    one); the first failure (in argument order) is raised once both have ended, so that no
    task is left running or its failure unread."""
    other = asyncio.ensure_future(second)
    try:
        a = await first
    except asyncio.CancelledError:
        other.cancel()
        with contextlib.suppress(BaseException):
            await other
        raise
    except BaseException:
        with contextlib.suppress(BaseException):
            await other
        raise
    return a, await other


@dataclass(frozen=True, slots=True)
class RateCharge:
    """What a request costs against the per-user and per-workspace limits."""

    settings: Settings
    cost: int = 1

    def budgets(self, user_id: UUID, workspace_id: UUID) -> tuple[Budget, ...]:
        settings = self.settings
        return _budgets(
            user_id,
            workspace_id,
            settings.rate_limit_user_per_min,
            settings.rate_limit_workspace_per_min,
        )


@functools.lru_cache(maxsize=4096)
def _budgets(
    user_id: UUID, workspace_id: UUID, user_limit: int, workspace_limit: int
) -> tuple[Budget, ...]:
    """Built once per caller, not per request (a UUID's text is a few microseconds)."""
    return (
        Budget(f"rl:user:{user_id}", user_limit),
        Budget(f"rl:workspace:{workspace_id}", workspace_limit),
    )


async def enforce_rate_limit(
    *, security: Security, settings: Settings, actor: Principal, cost: int = 1
) -> None:
    """Charge an already authenticated request (GraphQL charges per root field)."""
    charge = RateCharge(settings, cost)
    decision = await security.rate_limiter.hit(
        charge.budgets(actor.user_id, actor.workspace_id), cost=cost
    )
    if not decision.allowed:
        raise RateLimited(decision.retry_after_s, scope="user or workspace")


async def get_profile(*, session: AsyncSession, actor: Principal) -> tuple[UserView, WorkspaceView]:
    user, workspace = await active_member(session, actor.user_id)
    return UserView.of(user), WorkspaceView.of(workspace)


async def update_profile(
    *, session: AsyncSession, security: Security, actor: Principal, data: ProfileUpdate
) -> UserView:
    user, _ = await active_member(session, actor.user_id)
    before: dict[str, Any] = {"full_name": user.full_name}
    if data.password is not None:
        if not verify_password(user.password_hash, data.current_password or ""):
            raise ValidationFailed.field("current_password", "does not match")
        if data.password.strip().lower() == user.email:
            raise ValidationFailed.field("password", "must not be the email address")
        user.password_hash = hash_password(data.password)
        # Every session of this account ends with the old password, this one included
        # (whoever stole a token of it goes too): refresh and access tokens alike. The
        # UPDATE locks the families first, so no refresh issues a token the denylist misses.
        ended = await session.scalars(
            sa.update(RefreshTokenFamily)
            .where(
                col(RefreshTokenFamily.user_id) == user.id,
                col(RefreshTokenFamily.revoked_at).is_(None),
            )
            .values(revoked_at=datetime.now(UTC), revoked_reason="password_changed")
            .returning(col(RefreshTokenFamily.id))
        )
        await security.end_sessions(list(ended))
    if data.full_name is not None:
        user.full_name = data.full_name
    session.add(user)
    changes = diff(before, {"full_name": user.full_name})
    if data.password is not None:
        changes["password"] = "changed"
    await record_audit(
        session=session,
        actor=actor,
        action="user.profile_updated",
        resource_type="user",
        resource_id=user.id,
        changes=changes,
    )
    emit(
        session=session,
        actor=actor,
        event_type="user.updated",
        entity_type="user",
        entity_id=user.id,
        data={"fields": sorted(changes)},
    )
    await session.flush()
    return UserView.of(user)


async def memberships(*, session: AsyncSession, actor: Principal) -> list[Membership]:
    """Every workspace of the actor's organization that the same person belongs to."""
    user, workspace = await active_member(session, actor.user_id)
    rows = (
        await session.execute(
            text("SELECT * FROM auth_member_workspaces(:email, :org)"),
            {"email": user.email, "org": workspace.organization_id},
        )
    ).mappings()
    return [
        Membership(
            workspace_id=r["workspace_id"],
            workspace_name=r["workspace_name"],
            region=r["region"],
            active_mode=r["active_mode"],
            user_id=r["user_id"],
            role=str(r["role"]),
            status=str(r["status"]),
        )
        for r in rows
    ]


async def switch_workspace(
    *,
    session: AsyncSession,
    security: Security,
    settings: Settings,
    actor: Principal,
    workspace_id: UUID,
) -> Tokens:
    """Tokens for another workspace of the organization that the same person belongs to."""
    target = next(
        (
            m
            for m in await memberships(session=session, actor=actor)
            if m.workspace_id == workspace_id
        ),
        None,
    )
    if target is None:
        raise NotFound.resource("Workspace", workspace_id)
    await set_tenant(session, workspace_id, organization_id=actor.organization_id)
    user, workspace = await active_member(session, target.user_id)
    moved = Principal(user.id, workspace.id, workspace.organization_id, str(user.role))
    await record_audit(
        session=session,
        actor=moved,
        action="user.workspace_switched",
        resource_type="workspace",
        resource_id=workspace.id,
        changes={"from_workspace_id": str(actor.workspace_id)},
    )
    return await start_session(
        session=session, security=security, settings=settings, user=user, workspace=workspace
    )
