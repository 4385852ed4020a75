"""`/health`, `/health/ready`, `/health/startup` (spec section 21)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from services.health import Probe, default_partitions, readiness, startup


def _report(probes: list[Probe]) -> JSONResponse:
    down = [probe.name for probe in probes if not probe.ok and probe.critical]
    warnings = [probe.name for probe in probes if not probe.ok and not probe.critical]
    body = {
        "status": "ok" if not down else "unavailable",
        "down": down,
        "warnings": warnings,
        "checks": {probe.name: {"ok": probe.ok, "detail": probe.detail} for probe in probes},
    }
    return JSONResponse(body, status_code=503 if down else 200)


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def ready(request: Request) -> JSONResponse:
    state = request.app.state
    broker_url = None if state.settings.single_process else state.broker_url
    probes = await readiness(
        db=state.db, redis=state.redis, broker_url=broker_url, redis_url=state.settings.redis_url
    )
    return _report(probes)


async def started(request: Request) -> JSONResponse:
    db = request.app.state.db
    return _report([*await startup(db=db), await default_partitions(db=db)])
