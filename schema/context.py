"""The typed context every resolver receives."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from core.db import Database
from core.principal import Principal
from core.settings import Settings
from dataloaders import DataLoaders


@dataclass(slots=True)
class Context:
    request: Request | WebSocket
    response: Response | None
    settings: Settings
    db: Database
    loaders: DataLoaders
    principal: Principal | None = None
