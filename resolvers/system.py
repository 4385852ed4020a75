"""Service-level queries: what this server is and how it runs."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from schema.context import Context
from schema.types.system import ServerInfo
from services.health import code_head_revision

VERSION = "0.1.0"


@strawberry.type
class SystemQuery:
    @strawberry.field(description="Version, environment and deployment mode of this server.")
    def server_info(self, info: Info[Context, None]) -> ServerInfo:
        settings = info.context.settings
        return ServerInfo(
            version=VERSION,
            environment=settings.environment.value,
            single_process=settings.single_process,
            schema_revision=code_head_revision() or "",
        )
