"""Per-request (or per-job) context, carried by contextvars into logs and audit rows."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from uuid import UUID


@dataclass(frozen=True, slots=True)
class RequestInfo:
    request_id: str
    ip_address: str | None = None
    user_agent: str | None = None


request_info: ContextVar[RequestInfo | None] = ContextVar("request_info", default=None)
current_workspace: ContextVar[UUID | None] = ContextVar("current_workspace", default=None)
current_user: ContextVar[UUID | None] = ContextVar("current_user", default=None)


def current_request_id() -> str | None:
    info = request_info.get()
    return info.request_id if info else None
