"""Vehicles over REST: CRUD, validation that changes nothing, lists, nearby search."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from tests.helpers import Session, login, member, register
from tests.sql_count import sql_sent

DEPOT = {"type": "Point", "coordinates": [77.5187, 13.0285]}


def van(plate: str, **extra: object) -> dict[str, object]:
    return {"vehicle_type": "van", "plate_number": plate, "capacity_kg": 800, **extra}


async def create(client: httpx.AsyncClient, admin: Session, body: dict[str, object]) -> dict:
    response = await client.post("/api/v1/vehicles", json=body, headers=admin.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def count_vehicles(owner: asyncpg.Connection, workspace_id: str) -> int:
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        return int(await owner.fetchval("SELECT count(*) FROM vehicles"))


async def test_create_read_update_delete(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    created = await create(client, admin, van(" ka-01 ab 1001 ", last_location=DEPOT))
    assert created["plate_number"] == "KA-01 AB 1001"
    assert created["last_location"] == DEPOT
    vid = created["id"]

    fetched = await client.get(f"/api/v1/vehicles/{vid}", headers=admin.headers)
    assert fetched.json()["data"]["capacity_kg"] == 800

    patched = await client.patch(
        f"/api/v1/vehicles/{vid}",
        json={"status": "maintenance", "last_location": {"lat": 12.97, "lng": 77.59}},
        headers=admin.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["status"] == "maintenance"
    assert patched.json()["data"]["last_location"]["coordinates"] == [77.59, 12.97]

    deleted = await client.delete(f"/api/v1/vehicles/{vid}", headers=admin.headers)
    assert deleted.status_code == 200
    gone = await client.get(f"/api/v1/vehicles/{vid}", headers=admin.headers)
    assert gone.status_code == 404
    for url in (
        "/api/v1/vehicles",
        "/api/v1/vehicles?search=1001",
        "/api/v1/vehicles?bbox=77,12,78,14",
        "/api/v1/vehicles/nearby?lat=13.0285&lng=77.5187&radius_m=1000",
    ):
        assert (await client.get(url, headers=admin.headers)).json()["data"] == [], url
    # The plate is free again once its vehicle is deleted.
    await create(client, admin, van("KA-01 AB 1001"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (van("A1", last_location={"type": "Point", "coordinates": [181, 10]}), "last_location"),
        (van("A1", last_location={"lat": 91, "lng": 10}), "last_location"),
        (van("A1", last_location={"type": "Point", "coordinates": ["x", 1]}), "last_location"),
        ({"vehicle_type": "spaceship", "plate_number": "A1"}, "vehicle_type"),
        (van("A1", capacity_kg=-5), "capacity_kg"),
        (van("A1", capacity_volume_m3=-1.0), "capacity_volume_m3"),
        (van("A1", fuel_type="coal"), "fuel_type"),
        (van("A1", status="flying"), "status"),
        (van("A1", max_range_km=0), "max_range_km"),
        (van("A1", capacity_kg="lots"), "capacity_kg"),
        (van("A1", colour="red"), "colour"),
        (van("!!"), "plate_number"),
    ],
)
async def test_invalid_vehicle_is_422_naming_the_field_and_stores_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, body: dict, field: str
) -> None:
    admin = await register(client)
    response = await client.post("/api/v1/vehicles", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert any(f == field or f.startswith(f"{field}.") for f in fields), fields
    assert await count_vehicles(owner_conn, admin.workspace_id) == 0


async def test_duplicate_plate_is_422_and_changes_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    first = await create(client, admin, van("DUP-1"))
    again = await client.post("/api/v1/vehicles", json=van("dup-1"), headers=admin.headers)
    assert again.status_code == 422
    assert again.json()["error"]["details"]["fields"][0]["field"] == "plate_number"
    other = await create(client, admin, van("DUP-2"))
    clash = await client.patch(
        f"/api/v1/vehicles/{other['id']}", json={"plate_number": "DUP-1"}, headers=admin.headers
    )
    assert clash.status_code == 422
    assert await count_vehicles(owner_conn, admin.workspace_id) == 2
    kept = await client.get(f"/api/v1/vehicles/{other['id']}", headers=admin.headers)
    assert kept.json()["data"]["plate_number"] == "DUP-2"
    assert first["plate_number"] == "DUP-1"


async def test_list_pages_filters_and_search(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    for n in range(7):
        await create(
            client,
            admin,
            van(f"PG-{n}", status="maintenance" if n % 3 == 0 else "available"),
        )
    await create(client, admin, {"vehicle_type": "truck", "plate_number": "TRK-9"})
    page = await client.get("/api/v1/vehicles?page=2&per_page=3", headers=admin.headers)
    body = page.json()
    assert body["meta"]["pagination"] == {"page": 2, "per_page": 3, "total": 8}
    assert [v["plate_number"] for v in body["data"]] == ["PG-3", "PG-4", "PG-5"]
    maint = await client.get("/api/v1/vehicles?status=maintenance", headers=admin.headers)
    assert [v["plate_number"] for v in maint.json()["data"]] == ["PG-0", "PG-3", "PG-6"]
    trucks = await client.get("/api/v1/vehicles?vehicle_type=truck", headers=admin.headers)
    assert [v["plate_number"] for v in trucks.json()["data"]] == ["TRK-9"]
    search = await client.get("/api/v1/vehicles?search=g-5", headers=admin.headers)
    assert [v["plate_number"] for v in search.json()["data"]] == ["PG-5"]
    too_big = await client.get("/api/v1/vehicles?per_page=101", headers=admin.headers)
    assert too_big.status_code == 422
    unknown = await client.get("/api/v1/vehicles?colour=red", headers=admin.headers)
    assert unknown.json()["error"]["details"]["fields"][0]["field"] == "query.colour"


async def test_nearby_orders_by_distance_with_metres_radius_and_status(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    spots = {
        "NEAR-1": (77.5950, 12.9720),
        "NEAR-2": (77.6100, 12.9750),
        "NEAR-3": (77.6400, 12.9700),
        "FAR-1": (77.7500, 12.9700),
    }
    ids = {}
    for plate, (lng, lat) in spots.items():
        created = await create(
            client,
            admin,
            van(
                plate,
                last_location={"type": "Point", "coordinates": [lng, lat]},
                status="offline" if plate == "NEAR-2" else "available",
            ),
        )
        ids[plate] = created["id"]
    await create(client, admin, van("NOWHERE"))  # no position: never nearby
    url = "/api/v1/vehicles/nearby?lat=12.9716&lng=77.5946&radius_m=10000&limit=10"
    found = (await client.get(url, headers=admin.headers)).json()["data"]
    assert [v["plate_number"] for v in found] == ["NEAR-1", "NEAR-2", "NEAR-3"]
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        for vehicle in found:
            expected = await owner_conn.fetchval(
                "SELECT ST_Distance(last_location,"
                " ST_SetSRID(ST_MakePoint(77.5946, 12.9716), 4326)::geography)"
                " FROM vehicles WHERE id = $1",
                vehicle["id"],
            )
            assert vehicle["distance_m"] == pytest.approx(expected, abs=0.01)
    limited = (await client.get(url.replace("limit=10", "limit=2"), headers=admin.headers)).json()
    assert [v["plate_number"] for v in limited["data"]] == ["NEAR-1", "NEAR-2"]
    available = (await client.get(url + "&status=available", headers=admin.headers)).json()
    assert [v["plate_number"] for v in available["data"]] == ["NEAR-1", "NEAR-3"]
    await client.delete(f"/api/v1/vehicles/{ids['NEAR-1']}", headers=admin.headers)
    after = (await client.get(url, headers=admin.headers)).json()["data"]
    assert [v["plate_number"] for v in after] == ["NEAR-2", "NEAR-3"]
    bad = await client.get("/api/v1/vehicles/nearby?lat=95&lng=0", headers=admin.headers)
    assert bad.status_code == 422


async def test_roles_and_other_workspaces(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    other = await register(client)
    theirs = await create(client, other, van("THEIRS-1"))
    viewer = await member(client, admin, "viewer")
    operator = await member(client, admin, "operator")
    assert (await client.get("/api/v1/vehicles", headers=viewer.headers)).status_code == 403
    mine = await create(client, operator, van("OPS-1"))
    denied = await client.delete(f"/api/v1/vehicles/{mine['id']}", headers=operator.headers)
    assert denied.status_code == 403
    for method, suffix in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("GET", "/live")):
        response = await client.request(
            method,
            f"/api/v1/vehicles/{theirs['id']}{suffix}",
            json={"status": "offline"} if method == "PATCH" else None,
            headers=admin.headers,
        )
        assert response.status_code == 404, (method, suffix)
    still = await client.get(f"/api/v1/vehicles/{theirs['id']}", headers=other.headers)
    assert still.json()["data"]["status"] == "available"


async def test_live_and_history(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    parked = await create(client, admin, van("LIVE-1", last_location=DEPOT))
    live = (await client.get(f"/api/v1/vehicles/{parked['id']}/live", headers=admin.headers)).json()
    assert live["data"]["position"] == DEPOT
    assert 0 <= live["data"]["age_s"] < 60
    history = await client.get(f"/api/v1/vehicles/{parked['id']}/history", headers=admin.headers)
    assert history.json()["data"] == []
    analyst = await member(client, admin, "analyst")
    driver = await member(client, admin, "driver")
    url = f"/api/v1/vehicles/{parked['id']}/history"
    assert (await client.get(url, headers=analyst.headers)).status_code == 200
    assert (await client.get(url, headers=driver.headers)).status_code == 403


async def test_reads_answer_what_the_writes_answered(client: httpx.AsyncClient) -> None:
    """The one-vehicle and list reads (plain statements) write each vehicle exactly as the
    create and update answers (ORM objects) do, and a page past the end keeps its total."""
    admin = await register(client)
    created = await create(
        client, admin, van("SAME-1", last_location=DEPOT, metadata={"depot": "north", "n": 1})
    )
    updated = await client.patch(
        f"/api/v1/vehicles/{created['id']}", json={"status": "offline"}, headers=admin.headers
    )
    plain = await create(client, admin, van("SAME-2"))
    one = await client.get(f"/api/v1/vehicles/{created['id']}", headers=admin.headers)
    assert one.json()["data"] == updated.json()["data"]
    listed = await client.get("/api/v1/vehicles?per_page=10", headers=admin.headers)
    assert listed.json()["data"] == [updated.json()["data"], plain]
    past = await client.get("/api/v1/vehicles?page=3&per_page=1", headers=admin.headers)
    assert past.json()["data"] == []
    assert past.json()["meta"]["pagination"] == {"page": 3, "per_page": 1, "total": 2}


async def test_hot_reads_are_one_statement_that_checks_the_membership(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    """No look-up of their own. The one-vehicle read and the page are each one statement,
    its own transaction (behind PgBouncer inside BEGIN and COMMIT), that checks the
    membership and the role before it reads."""
    admin = await register(client)
    created = await create(client, admin, van("FLOOR-1"))
    for path, read, function in (
        (
            f"/api/v1/vehicles/{created['id']}",
            "SELECT b.ordinal, b.refusal, b.role, v.id",
            "FROM auth_read_vehicles($1, $2, $3, $4)",
        ),
        (
            "/api/v1/vehicles?per_page=50",
            "SELECT v.id, v.vehicle_type",
            "FROM auth_read_vehicle_page($1, $2, $3, $4,",
        ),
    ):
        with sql_sent() as sent:
            answer = await client.get(path, headers=admin.headers)
        assert answer.status_code == 200, answer.text
        if app.state.settings.db_transaction_pooling:
            assert [s[: len(read)] for s in sent] == ["BEGIN READ ONLY", read, "COMMIT"], sent
        else:
            assert len(sent) == 1 and sent[0].startswith(read), sent
        assert function in sent[-2 if len(sent) > 1 else 0], sent


async def test_reads_arriving_together_share_a_statement_and_keep_their_own_answers(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """One-vehicle reads of several callers at once are answered by a few shared
    statements, and each caller still gets exactly what it would alone: its own workspace's
    vehicle, a 404 for another workspace's or a missing one, a 403 for a role that may not
    read, a 401 for a member suspended since the token was issued."""
    first, second = await register(client), await register(client)
    mine = await create(client, first, van("BATCH-1", last_location=DEPOT))
    theirs = await create(client, second, van("BATCH-2"))
    viewer = await member(client, first, "viewer")
    suspended = await member(client, first, "operator")
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", first.workspace_id
        )
        await owner_conn.execute(
            "UPDATE users SET status = 'suspended' WHERE id = $1", uuid.UUID(suspended.user_id)
        )
    missing = str(uuid.uuid4())
    cases = [
        (first, mine["id"], 200, mine),
        (second, theirs["id"], 200, theirs),
        (first, theirs["id"], 404, None),
        (second, mine["id"], 404, None),
        (viewer, mine["id"], 403, None),
        (suspended, mine["id"], 401, None),
        (second, missing, 404, None),
    ] * 5
    with sql_sent() as sent:
        answers = await asyncio.gather(
            *(
                client.get(f"/api/v1/vehicles/{vid}", headers=who.headers)
                for who, vid, _, _ in cases
            )
        )
    for (who, vid, status, body), answer in zip(cases, answers, strict=True):
        assert answer.status_code == status, (who.email, vid, answer.text)
        if body is not None:
            assert answer.json()["data"] == body
    reads = [s for s in sent if "auth_read_vehicles" in s]
    assert 1 <= len(reads) <= len(cases) // 2, len(reads)


async def test_a_logged_out_token_is_refused_by_the_next_read(client: httpx.AsyncClient) -> None:
    """The admission keeps each token's part of its Redis command, not its answer: right
    after a logout the session's token is refused, among reads admitted together."""
    admin = await register(client)
    other = Session.of((await login(client, admin.email)).json()["data"])
    path = f"/api/v1/vehicles/{(await create(client, admin, van('OUT-1')))['id']}"
    assert (await client.get(path, headers=other.headers)).status_code == 200
    logout = await client.post("/api/v1/auth/logout", json={}, headers=other.headers)
    assert logout.status_code == 200, logout.text
    callers = [other if n % 2 else admin for n in range(20)]
    answers = await asyncio.gather(*(client.get(path, headers=who.headers) for who in callers))
    assert [a.status_code for a in answers] == [401 if who is other else 200 for who in callers]


async def test_a_batch_element_without_a_caller_or_roles_is_refused(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The batch statement checks each element's caller: a missing (NULL) caller after a
    member's element is refused, not read under that member's check and scope; and with no
    roles given, no role may read."""
    admin = await register(client)
    created = await create(client, admin, van("BATCH-NULL"))
    user, workspace, vehicle = (
        uuid.UUID(admin.user_id),
        uuid.UUID(admin.workspace_id),
        uuid.UUID(created["id"]),
    )
    rows = await owner_conn.fetch(
        "SELECT ordinal, refusal, (vehicle).id AS id FROM auth_read_vehicles($1, $2, $3, $4)",
        [user, None, user],
        [workspace, workspace, workspace],
        ["admin"],
        [vehicle, vehicle, vehicle],
    )
    assert [tuple(r) for r in rows] == [
        (1, None, vehicle),
        (2, "inactive", None),
        (3, None, vehicle),
    ]
    # No roles given: no role may read.
    refused = await owner_conn.fetch(
        "SELECT ordinal, refusal, role FROM auth_read_vehicles($1, $2, NULL, $3)",
        [user],
        [workspace],
        [vehicle],
    )
    assert [tuple(r) for r in refused] == [(1, "role", "admin")]
