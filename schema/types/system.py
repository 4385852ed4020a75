from __future__ import annotations

import strawberry


@strawberry.type(description="This API server.")
class ServerInfo:
    version: str
    environment: str
    single_process: bool = strawberry.field(
        description="True when running without Redis: in-memory broadcast, in-process worker."
    )
    schema_revision: str = strawberry.field(description="Database migration head of this code.")
