"""One Runtime per worker process, created on the AsyncIO middleware's event loop."""

from __future__ import annotations

from core.runtime import Runtime
from core.settings import get_settings

_runtime: Runtime | None = None


def runtime() -> Runtime:
    global _runtime
    if _runtime is None:
        _runtime = Runtime.start(get_settings())
    return _runtime
