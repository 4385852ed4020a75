"""Position ingestion: validation, duplicates, order, batches, who may report, storage."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from tests.helpers import Session, member, register
from tests.routing_helpers import make_vehicle


def at(seconds_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(seconds=seconds_ago)).isoformat()


async def stored(owner: asyncpg.Connection, who: Session) -> list[asyncpg.Record]:
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", who.workspace_id
        )
        return await owner.fetch(
            "SELECT vehicle_id, recorded_at, ST_X(position::geometry) AS lng, speed_kmh"
            " FROM live_vehicle_positions ORDER BY recorded_at"
        )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"lat": 91}, "lat"),
        ({"lng": -180.5}, "lng"),
        ({"lat": float("nan")}, "lat"),
        ({"lat": 0, "lng": 0}, "lat"),
        ({"speed": -3}, "speed"),
        ({"speed": 900}, "speed"),
        ({"heading": 360}, "heading"),
        ({"battery_pct": 101}, "battery_pct"),
        ({"recorded_at": "FUTURE"}, "recorded_at"),
        ({"recorded_at": "2030-01-01T00:00:00"}, "recorded_at"),
        ({"altitude": 5}, "altitude"),
        ({"lat": "north"}, "lat"),
    ],
)
async def test_each_bad_position_is_refused_with_its_reason_and_nothing_stored(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, change: dict, field: str
) -> None:
    admin = await register(client)
    van = await make_vehicle(client, admin, "GPS-1")
    body = {"vehicle_id": van, "lat": 12.97, "lng": 77.59, **change}
    if body.get("recorded_at") == "FUTURE":
        body["recorded_at"] = (datetime.now(UTC) + timedelta(minutes=6)).isoformat()
    if isinstance(body.get("lat"), float) and body["lat"] != body["lat"]:
        content = f'{{"vehicle_id": "{van}", "lat": NaN, "lng": 77.59}}'
        response = await client.post(
            "/api/v1/tracking/update", content=content, headers=admin.headers
        )
    else:
        response = await client.post("/api/v1/tracking/update", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"]["fields"][0]["field"] == field, error
    assert await stored(owner_conn, admin) == []


async def test_duplicates_are_stored_once_and_late_positions_never_move_the_vehicle_back(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    van = await make_vehicle(client, admin, "GPS-2")
    newest = {"vehicle_id": van, "lat": 12.98, "lng": 77.60, "speed": 30, "recorded_at": at(10)}
    first = await client.post("/api/v1/tracking/update", json=newest, headers=admin.headers)
    assert first.status_code == 201
    assert first.json()["data"]["duplicate"] is False
    again = await client.post("/api/v1/tracking/update", json=newest, headers=admin.headers)
    assert again.status_code == 201
    assert again.json()["data"]["duplicate"] is True
    older = {"vehicle_id": van, "lat": 12.90, "lng": 77.50, "recorded_at": at(120)}
    late = await client.post("/api/v1/tracking/update", json=older, headers=admin.headers)
    assert late.status_code == 201
    rows = await stored(owner_conn, admin)
    assert [round(r["lng"], 2) for r in rows] == [77.50, 77.60]
    vehicle = (await client.get(f"/api/v1/vehicles/{van}", headers=admin.headers)).json()["data"]
    assert vehicle["last_location"]["coordinates"] == [77.60, 12.98]
    latest = (await client.get(f"/api/v1/tracking/vehicle/{van}", headers=admin.headers)).json()[
        "data"
    ]
    assert latest["position"] == [77.60, 12.98]
    assert latest["speed"] == 30
    assert 9 <= latest["age_s"] < 60


async def test_batch_keeps_the_good_positions_and_reports_each_bad_one(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    van = await make_vehicle(client, admin, "GPS-3")
    good = [
        {"vehicle_id": van, "lat": 12.9 + i / 1000, "lng": 77.6, "recorded_at": at(300 - i)}
        for i in range(5)
    ]
    bad = [
        {"vehicle_id": van, "lat": 95, "lng": 77.6},
        {"vehicle_id": str(uuid.uuid4()), "lat": 12.9, "lng": 77.6},
        {"vehicle_id": van, "lat": 0, "lng": 0},
    ]
    response = await client.post(
        "/api/v1/tracking/batch",
        json={"positions": [good[0], bad[0], *good[1:3], bad[1], good[3], bad[2], good[4]]},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.text
    body = response.json()["data"]
    assert [a["index"] for a in body["accepted"]] == [0, 2, 3, 5, 7]
    assert [(r["index"], r["code"]) for r in body["rejected"]] == [
        (1, "VALIDATION_ERROR"),
        (4, "NOT_FOUND"),
        (6, "VALIDATION_ERROR"),
    ]
    assert len(await stored(owner_conn, admin)) == 5
    too_many = await client.post(
        "/api/v1/tracking/batch", json={"positions": [good[0]] * 1001}, headers=admin.headers
    )
    assert too_many.status_code == 422
    all_bad = await client.post(
        "/api/v1/tracking/batch", json={"positions": bad}, headers=admin.headers
    )
    assert all_bad.status_code == 422


async def test_a_driver_reports_only_for_their_own_vehicle(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    mine = await make_vehicle(client, admin, "DRV-MINE")
    theirs = await make_vehicle(client, admin, "DRV-THEIRS")
    driver = await member(client, admin, "driver")
    viewer = await member(client, admin, "viewer")
    await client.post(
        "/api/v1/drivers",
        json={"user_id": driver.user_id, "license_number": "L-1", "vehicle_id": mine},
        headers=admin.headers,
    )
    ok = await client.post(
        "/api/v1/tracking/update",
        json={"vehicle_id": mine, "lat": 12.97, "lng": 77.59},
        headers=driver.headers,
    )
    assert ok.status_code == 201
    other = await client.post(
        "/api/v1/tracking/update",
        json={"vehicle_id": theirs, "lat": 12.97, "lng": 77.59},
        headers=driver.headers,
    )
    assert other.status_code == 403
    assert (
        await client.post(
            "/api/v1/tracking/update",
            json={"vehicle_id": mine, "lat": 12.97, "lng": 77.59},
            headers=viewer.headers,
        )
    ).status_code == 403
    stranger = await register(client)
    foreign = await client.post(
        "/api/v1/tracking/update",
        json={"vehicle_id": mine, "lat": 12.97, "lng": 77.59},
        headers=stranger.headers,
    )
    assert foreign.status_code == 404
    assert len(await stored(owner_conn, admin)) == 1
    assert (
        await client.get(f"/api/v1/tracking/vehicle/{mine}", headers=stranger.headers)
    ).status_code == 404


async def test_positions_land_in_their_month_partition(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    van = await make_vehicle(client, admin, "GPS-P")
    await client.post(
        "/api/v1/tracking/update",
        json={"vehicle_id": van, "lat": 12.97, "lng": 77.59},
        headers=admin.headers,
    )
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        where = await owner_conn.fetchval(
            "SELECT tableoid::regclass::text FROM live_vehicle_positions"
        )
    assert where == "live_vehicle_positions_p" + datetime.now(UTC).strftime("%Y%m")
