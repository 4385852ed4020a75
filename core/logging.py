"""Structured JSON logs; every record carries the request id, workspace and user in scope."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter

from core.context import current_request_id, current_user, current_workspace


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        workspace, user = current_workspace.get(), current_user.get()
        record.request_id = current_request_id()
        record.workspace_id = str(workspace) if workspace else None
        record.user_id = str(user) if user else None
        return True


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s"
            " %(request_id)s %(workspace_id)s %(user_id)s",
            rename_fields={"asctime": "timestamp", "levelname": "level", "name": "logger"},
        )
    )
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn installs its own handlers; route them through ours.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "dramatiq"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
