"""GraphQL over graphql-transport-ws against the app under test."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from starlette.applications import Starlette

from tests.helpers import Session


@asynccontextmanager
async def connection(app: Starlette, who: Session) -> AsyncIterator[AsyncWebSocketSession]:
    transport = ASGIWebSocketTransport(app=app)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://t") as client,
        aconnect_ws("/graphql", client, subprotocols=["graphql-transport-ws"]) as ws,
    ):
        await ws.send_json(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {who.access_token}"}}
        )
        assert (await ws.receive_json(timeout=10))["type"] == "connection_ack"
        yield ws


async def subscribe(
    ws: AsyncWebSocketSession, op_id: str, query: str, variables: dict[str, Any]
) -> None:
    payload = {"query": query, "variables": variables}
    await ws.send_json({"id": op_id, "type": "subscribe", "payload": payload})
