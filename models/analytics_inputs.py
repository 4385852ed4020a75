"""Request shapes of the analytics context."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import ConfigDict, Field

from core.validation import Body


class AuditLogFilter(Body):
    """Which audit rows to list; every field narrows, none is required."""

    resource_type: str | None = Field(default=None, max_length=100)
    resource_id: UUID | None = None
    user_id: UUID | None = None
    action: str | None = Field(default=None, max_length=100)
    since: datetime | None = None
    until: datetime | None = None


class ReportQuery(Body):
    """A report's range and grouping: `from`/`to` default to the last 30 days; `group_by`
    is `day`, `week` or the report's own dimensions."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_: datetime | None = Field(default=None, alias="from")
    to: datetime | None = None
    group_by: str = Field(default="day", max_length=40)
