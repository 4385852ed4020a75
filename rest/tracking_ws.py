"""`/ws/tracking`: the raw WebSocket of spec section 11.

Drivers' phones send `{"type": "position_update", "vehicle_id", "lat", "lng", "speed",
"heading"}` and get `{"type": "ack"}` or `{"type": "error"}` back; dashboards (operators,
admins) receive `vehicle_moved`, `route_deviation` and `route_progress` messages of their
workspace, one JSON object per frame; with `?batch=true`, one JSON array per frame holding
the messages published since the last frame (at most one frame per 50 ms), for dashboards
that follow many vehicles. Authenticated by the same JWT, as `?token=` or an Authorization
header; the socket is closed (1008, "session ended") within SESSION_CHECK_S of its session
ending or its user losing access.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from core import jsontext
from core.errors import DomainError, Unauthorized
from core.fanout import SubscriberTooSlow
from core.principal import Principal
from models.permissions import Operation, is_allowed
from rest.serialize import to_json
from services.identity.accounts import authenticate, still_admitted
from services.tracking import feed, ingest

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
# How often an open socket checks that its session still stands (logout, a password change,
# a suspended user close it within this long).
SESSION_CHECK_S = 15.0


async def _principal(websocket: WebSocket) -> Principal:
    token = websocket.query_params.get("token")
    if not token:
        scheme, _, value = websocket.headers.get("authorization", "").partition(" ")
        token = value.strip() if scheme.lower() == "bearer" else None
    if not token:
        raise Unauthorized("A token is required")
    state = websocket.app.state
    return await authenticate(db=state.db, security=state.security, token=token)


async def _receive(websocket: WebSocket, actor: Principal) -> None:
    state = websocket.app.state
    while True:
        message = await websocket.receive_text()
        try:
            data: Any = json.loads(message)
        except (json.JSONDecodeError, RecursionError):
            await websocket.send_json({"type": "error", "reason": "malformed JSON"})
            continue
        if not isinstance(data, dict) or data.get("type") != "position_update":
            await websocket.send_json({"type": "error", "reason": "unknown message type"})
            continue
        if not is_allowed(actor.role, Operation.TRACKING_UPDATE):
            await websocket.send_json({"type": "error", "code": "FORBIDDEN", "reason": "read-only"})
            continue
        report = {k: v for k, v in data.items() if k != "type"}
        result = await ingest.ingest(writer=state.writer, actor=actor, reports=[report])
        if result.rejected:
            refusal = result.rejected[0]
            await websocket.send_json(
                {
                    "type": "error",
                    "code": refusal.code,
                    "field": refusal.field,
                    "reason": refusal.reason,
                }
            )
        else:
            _, position, new = result.accepted[0]
            await websocket.send_json(
                {
                    "type": "ack",
                    "vehicle_id": str(position.vehicle_id),
                    "recorded_at": to_json(position.recorded_at),
                    "duplicate": not new,
                }
            )


async def _send(websocket: WebSocket, actor: Principal) -> None:
    hub = websocket.app.state.hub
    batched = websocket.query_params.get("batch", "").lower() in ("1", "true")
    channel = feed.channel(actor.workspace_id)
    async with hub.subscribe(channel, batched=batched) as subscription:
        if batched:
            async for frame in subscription.frames():
                await websocket.send_text(frame)
        else:
            async for message in subscription:
                await websocket.send_text(jsontext.text(message))


async def _watch(websocket: WebSocket, actor: Principal) -> None:
    """Returns once the socket's session has ended."""
    state = websocket.app.state
    while True:
        await asyncio.sleep(SESSION_CHECK_S)
        try:
            if not await still_admitted(db=state.db, security=state.security, actor=actor):
                return
        except Exception as exc:
            # A Redis or database blip does not drop every live map; the next check decides.
            log.warning("session check failed: %s", exc)


async def tracking_socket(websocket: WebSocket) -> None:
    try:
        actor = await _principal(websocket)
    except DomainError as exc:
        await websocket.close(code=POLICY_VIOLATION, reason=exc.message[:120])
        return
    streams = is_allowed(actor.role, Operation.TRACKING_STREAM)
    if not (streams or is_allowed(actor.role, Operation.TRACKING_UPDATE)):
        await websocket.close(code=POLICY_VIOLATION, reason="role may not use live tracking")
        return
    await websocket.accept()
    watch = asyncio.create_task(_watch(websocket, actor))
    tasks = [watch, asyncio.create_task(_receive(websocket, actor))]
    if streams:
        tasks.append(asyncio.create_task(_send(websocket, actor)))
    done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect):
            await task
    for task in done:
        error = task.exception()
        if task is watch and error is None:
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=POLICY_VIOLATION, reason="session ended")
        elif isinstance(error, SubscriberTooSlow):
            with contextlib.suppress(RuntimeError):
                await websocket.close(code=TRY_AGAIN_LATER, reason="too slow: reconnect")
        elif error is not None and not isinstance(error, WebSocketDisconnect):
            raise error
