"""Who is acting: the authenticated user of a request, or a system job."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

# Audit rows need a user; work that no person started is attributed to this id.
SYSTEM_USER_ID = UUID(int=0)


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: UUID
    workspace_id: UUID
    organization_id: UUID | None
    role: str
    token_id: str | None = None
    token_expires_at: int | None = None
    session_id: UUID | None = None

    @classmethod
    def system(cls, workspace_id: UUID) -> Principal:
        return cls(SYSTEM_USER_ID, workspace_id, None, "system")
