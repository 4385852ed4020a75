"""The typed context every resolver receives."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.db import Database
from core.errors import Unauthorized
from core.principal import Principal
from core.runtime import Security
from core.settings import Settings
from dataloaders import DataLoaders

Authenticator = Callable[[str], Awaitable[Principal]]
Charger = Callable[[Principal, int], Awaitable[None]]
Admission = Callable[[Principal], Awaitable[bool]]


async def _always(principal: Principal) -> bool:
    return True


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    db: Database
    # Where analytics reports read: a replica when ANALYTICS_DATABASE_URL is set.
    analytics_db: Database
    security: Security
    loaders: DataLoaders
    authenticator: Authenticator
    charge: Charger
    connection_params: dict[str, object] = field(default_factory=dict)
    # Whether a principal's session still stands (long-lived websockets check it).
    admitted: Admission = _always
    _principal: Principal | None = None

    def bearer_token(self) -> str | None:
        header = self.request.headers.get("authorization", "")
        if not header:
            raw = self.connection_params.get("Authorization") or self.connection_params.get(
                "authorization"
            )
            header = raw if isinstance(raw, str) else ""
        scheme, _, token = header.partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    async def principal(self) -> Principal:
        """The authenticated caller (once per request), or UNAUTHORIZED."""
        if self._principal is None:
            token = self.bearer_token()
            if token is None:
                raise Unauthorized("A bearer token is required")
            self._principal = await self.authenticator(token)
            self.loaders.workspace_id = self._principal.workspace_id
        return self._principal

    @property
    def authenticated(self) -> Principal | None:
        """The caller, if it has been authenticated already."""
        return self._principal

    @property
    def client_ip(self) -> str | None:
        return self.request.client.host if self.request.client else None
