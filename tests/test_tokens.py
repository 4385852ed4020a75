"""Access tokens: remembered ones are still held to their time window, each names its
session, and the single-process admission refuses an ended session's tokens."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from core.admission import LocalAdmission
from core.denylist import MemoryDenylist
from core.errors import Unauthorized
from core.ratelimit import Budget, MemoryRateLimiter
from core.settings import Settings
from core.tokens import TokenService


def test_a_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    tokens = TokenService(Settings(access_token_ttl_s=60))
    issued = tokens.issue_access(
        user_id=uuid.uuid4(),
        workspace_id=uuid.uuid4(),
        organization_id=None,
        role="operator",
        session_id=uuid.uuid4(),
    )
    claims = tokens.verify_access(issued.token)  # verified, and now remembered
    assert tokens.verify_access(issued.token) == claims
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 60 + 10)  # past exp and the leeway
    with pytest.raises(Unauthorized, match="expired"):
        tokens.verify_access(issued.token)
    monkeypatch.setattr(time, "time", lambda: now - 60)  # before nbf, beyond the leeway
    with pytest.raises(Unauthorized):
        tokens.verify_access(issued.token)


def test_a_tampered_copy_of_a_remembered_token_is_not_taken_for_it() -> None:
    tokens = TokenService(Settings())
    issued = tokens.issue_access(
        user_id=uuid.uuid4(),
        workspace_id=uuid.uuid4(),
        organization_id=None,
        role="viewer",
        session_id=uuid.uuid4(),
    )
    tokens.verify_access(issued.token)
    head, payload, signature = issued.token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(Unauthorized):
        tokens.verify_access(f"{head}.{payload}.{flipped}")


def test_a_token_names_its_session_and_an_older_one_names_none() -> None:
    settings = Settings()
    tokens = TokenService(settings)
    session_id = uuid.uuid4()
    issued = tokens.issue_access(
        user_id=uuid.uuid4(),
        workspace_id=uuid.uuid4(),
        organization_id=None,
        role="driver",
        session_id=session_id,
    )
    assert tokens.verify_access(issued.token).session_id == session_id
    # A token signed before `sid` existed still verifies, with no session to end.
    claims = jwt.decode(
        issued.token, options={"verify_signature": False}, algorithms=[settings.jwt_algorithm]
    )
    del claims["sid"]
    older = jwt.encode(
        claims,
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
        headers={"kid": tokens.key_id},
    )
    assert tokens.verify_access(older).session_id is None


async def test_single_process_admission_refuses_an_ended_session_and_only_it() -> None:
    denylist = MemoryDenylist()
    admission = LocalAdmission(denylist, MemoryRateLimiter())
    ended, other = uuid.uuid4(), uuid.uuid4()
    await denylist.revoke_sessions([ended], ttl_s=60)
    budgets = [Budget("rl:user:x", 100)]
    assert (await admission.admit("a", budgets, session_id=ended)).revoked
    assert not (await admission.admit("b", budgets, session_id=other)).revoked
    assert not (await admission.admit("c", budgets)).revoked  # a token without a session
    await denylist.revoke("c", expires_at=int(time.time()) + 60)
    assert (await admission.admit("c", budgets)).revoked
