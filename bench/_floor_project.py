"""The project's API as bench/api_floor.py serves it: `app.create_app()` under uvicorn, with
the PostgreSQL messages of the process counted (`GET /__floor/sql`), so the benchmark can
report statements and round trips per request. Counting wraps asyncpg's Python entry points
(simple queries, prepared executions, fetches); it adds well under a microsecond to each.

    python bench/_floor_project.py PORT
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import orjson  # noqa: E402
import uvicorn  # noqa: E402
from asyncpg.prepared_stmt import PreparedStatement  # noqa: E402
from starlette.types import Receive, Scope, Send  # noqa: E402

COUNTS = {"round_trips": 0, "statements": 0}


def _simple(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if not args:  # with arguments it goes through _execute, counted there
            COUNTS["round_trips"] += 1
            COUNTS["statements"] += max(1, query.strip().rstrip(";").count(";") + 1)
        return await method(self, query, *args, **kwargs)

    return counted


def _one(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        COUNTS["round_trips"] += 1
        COUNTS["statements"] += 1
        return await method(*args, **kwargs)

    return counted


asyncpg.Connection.execute = _simple(asyncpg.Connection.execute)  # type: ignore[method-assign]
asyncpg.Connection._execute = _one(asyncpg.Connection._execute)  # type: ignore[method-assign]
for _name in ("fetch", "fetchrow", "fetchval", "executemany"):
    setattr(PreparedStatement, _name, _one(getattr(PreparedStatement, _name)))


class Counted:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/__floor/sql":
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", b"application/json")],
                }
            )
            await send({"type": "http.response.body", "body": orjson.dumps(COUNTS)})
            return
        await self.app(scope, receive, send)


if __name__ == "__main__":
    from app import create_app
    from core.logging import configure_logging
    from core.settings import get_settings

    configure_logging(get_settings().log_level)
    uvicorn.run(
        Counted(create_app()),
        host="127.0.0.1",
        port=int(sys.argv[1]),
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=None,
        lifespan="on",
    )
