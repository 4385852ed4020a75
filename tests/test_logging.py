"""Log lines are JSON and carry the request id, workspace and user in scope."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from core.context import RequestInfo, current_user, current_workspace, request_info
from core.logging import configure_logging


def test_json_lines_carry_request_workspace_and_user(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    try:
        configure_logging("INFO")
        workspace, user = uuid.uuid4(), uuid.uuid4()
        tokens = (
            request_info.set(RequestInfo("req-42")),
            current_workspace.set(workspace),
            current_user.set(user),
        )
        logging.getLogger("omniroute.test").info("vehicle created", extra={"plate": "KA-1"})
        for var, token in zip((request_info, current_workspace, current_user), tokens, strict=True):
            var.reset(token)  # type: ignore[attr-defined]
    finally:
        root.handlers[:], _ = saved
        root.setLevel(saved[1])
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["message"] == "vehicle created"
    assert line["level"] == "INFO"
    assert line["request_id"] == "req-42"
    assert line["workspace_id"] == str(workspace)
    assert line["user_id"] == str(user)
    assert line["plate"] == "KA-1"
