"""Access tokens remembered as verified are still held to their time window."""

from __future__ import annotations

import time
import uuid

import pytest

from core.errors import Unauthorized
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
