"""Arranging incidents and responder fleets for the operations tests."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis

from tests.helpers import Session

SCENE = {"lat": 12.9716, "lng": 77.5946}


async def incident(
    client: httpx.AsyncClient, who: Session, severity: str = "high", **extra: Any
) -> dict[str, Any]:
    body = {"severity": severity, "incident_type": "fire", "location": SCENE, **extra}
    response = await client.post("/api/v1/incidents", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def unit(
    client: httpx.AsyncClient,
    admin: Session,
    plate: str,
    lat: float,
    lng: float,
    vehicle_type: str = "ambulance",
    **extra: Any,
) -> str:
    body = {
        "vehicle_type": vehicle_type,
        "plate_number": plate,
        "last_location": {"lat": lat, "lng": lng},
        **extra,
    }
    response = await client.post("/api/v1/vehicles", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["data"]["id"])


async def dispatch(
    client: httpx.AsyncClient, who: Session, incident_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"/api/v1/incidents/{incident_id}/dispatch", json=body, headers=who.headers
    )


async def in_workspace(owner: asyncpg.Connection, workspace_id: str, query: str, *args: Any) -> Any:
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        return await owner.fetch(query, *args)


async def stream(redis: Redis, topic: str) -> list[dict[str, Any]]:
    entries = await redis.xrange(f"events:{topic}")
    return [json.loads(fields[b"event"]) for _, fields in entries]
