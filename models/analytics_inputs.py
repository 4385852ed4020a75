"""Request shapes of the analytics context."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import Field

from core.validation import Body


class AuditLogFilter(Body):
    """Which audit rows to list; every field narrows, none is required."""

    resource_type: str | None = Field(default=None, max_length=100)
    resource_id: UUID | None = None
    user_id: UUID | None = None
    action: str | None = Field(default=None, max_length=100)
    since: datetime | None = None
    until: datetime | None = None
