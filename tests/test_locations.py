"""Locations over REST: CRUD, GeoJSON and {lat, lng}, schedules, near search, bulk import."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from tests.helpers import Session, member, register


def place(name: str, lng: float, lat: float, **extra: object) -> dict[str, object]:
    return {"name": name, "geo": {"type": "Point", "coordinates": [lng, lat]}, **extra}


async def create(client: httpx.AsyncClient, who: Session, body: dict[str, object]) -> dict:
    response = await client.post("/api/v1/locations", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


async def count(owner: asyncpg.Connection, workspace_id: str) -> int:
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        return int(await owner.fetchval("SELECT count(*) FROM locations"))


async def test_crud_with_geojson_lat_lng_and_schedule(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    created = await create(
        client,
        admin,
        {
            "name": "City Hospital",
            "geo": {"lat": 12.9592, "lng": 77.6974},
            "location_type": "hospital",
            "operating_hours": {"mon": [["13:00", "18:00"], ["08:00", "12:00"]]},
            "contact_info": {"phone": "+91 80 1234 5678"},
        },
    )
    assert created["geo"] == {"type": "Point", "coordinates": [77.6974, 12.9592]}
    assert created["operating_hours"] == {"mon": [["08:00", "12:00"], ["13:00", "18:00"]]}
    url = f"/api/v1/locations/{created['id']}"
    renamed = await client.patch(url, json={"name": "City General"}, headers=admin.headers)
    assert renamed.json()["data"]["name"] == "City General"
    viewer = await member(client, admin, "viewer")
    assert (await client.get(url, headers=viewer.headers)).status_code == 200
    assert (await client.patch(url, json={"name": "x"}, headers=viewer.headers)).status_code == 403
    assert (await client.delete(url, headers=admin.headers)).status_code == 200
    assert (await client.get(url, headers=admin.headers)).status_code == 404
    for listing in (
        "/api/v1/locations",
        "/api/v1/locations?search=City",
        "/api/v1/locations?location_type=hospital",
        "/api/v1/locations/near?lat=12.9592&lng=77.6974&radius_m=1000",
    ):
        assert (await client.get(listing, headers=admin.headers)).json()["data"] == [], listing


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (place("A", 0, 0, location_type="volcano"), "location_type"),
        ({"name": "A", "geo": {"lat": -91, "lng": 0}}, "geo"),
        ({"name": "A", "geo": {"type": "Point", "coordinates": [180.5, 0]}}, "geo"),
        ({"name": "A", "geo": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}}, "geo"),
        (place("A", 1, 1, operating_hours={"funday": [["08:00", "10:00"]]}), "operating_hours"),
        (place("A", 1, 1, operating_hours={"mon": [["18:00", "08:00"]]}), "operating_hours"),
        (
            place("A", 1, 1, operating_hours={"mon": [["08:00", "12:00"], ["11:00", "13:00"]]}),
            "operating_hours",
        ),
        (place("A", 1, 1, operating_hours={"mon": [["8am", "12:00"]]}), "operating_hours"),
        (place("", 1, 1), "name"),
        (place("A", 1, 1, rating=5), "rating"),
    ],
)
async def test_invalid_location_is_422_naming_the_field(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, body: dict, field: str
) -> None:
    admin = await register(client)
    response = await client.post("/api/v1/locations", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    fields = [f["field"] for f in response.json()["error"]["details"]["fields"]]
    assert any(f.split(".")[0] == field for f in fields), fields
    assert await count(owner_conn, admin.workspace_id) == 0


async def test_list_filters_search_bbox_and_near(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    await create(client, admin, place("Depot North", 77.52, 13.03, location_type="depot"))
    await create(client, admin, place("Koramangala Bakery", 77.62, 12.93, location_type="customer"))
    await create(
        client, admin, place("Indiranagar Grocers", 77.64, 12.97, location_type="customer")
    )
    await create(client, admin, place("Mysuru Market", 76.65, 12.30, location_type="market"))
    h = admin.headers
    customers = await client.get("/api/v1/locations?location_type=customer", headers=h)
    assert [x["name"] for x in customers.json()["data"]] == [
        "Koramangala Bakery",
        "Indiranagar Grocers",
    ]
    search = await client.get("/api/v1/locations?search=bakery", headers=h)
    assert [x["name"] for x in search.json()["data"]] == ["Koramangala Bakery"]
    box = await client.get("/api/v1/locations?bbox=77.4,12.8,77.7,13.1", headers=h)
    assert len(box.json()["data"]) == 3
    # A box's edges are parallels and meridians, not great circles: Depot North (13.03°N)
    # lies above a wide box's northern edge at 13°N; the whole world holds everything.
    wide = await client.get("/api/v1/locations?bbox=0,0,150,13", headers=h)
    assert sorted(x["name"] for x in wide.json()["data"]) == [
        "Indiranagar Grocers",
        "Koramangala Bakery",
        "Mysuru Market",
    ]
    world = await client.get("/api/v1/locations?bbox=-180,-90,180,90", headers=h)
    assert world.status_code == 200, world.text
    assert len(world.json()["data"]) == 4
    bad_box = await client.get("/api/v1/locations?bbox=77.7,12.8,77.4,13.1", headers=h)
    assert bad_box.status_code == 422
    near = await client.get(
        "/api/v1/locations/near?lat=12.97&lng=77.60&radius_m=20000&limit=2", headers=h
    )
    names = [x["name"] for x in near.json()["data"]]
    assert names == ["Indiranagar Grocers", "Koramangala Bakery"]
    distances = [x["distance_m"] for x in near.json()["data"]]
    assert distances == sorted(distances)
    assert 4000 < distances[0] < 6000


CSV_OK = """name,lat,lng,location_type,address,contact_phone,operating_hours
Stop A,12.97,77.59,customer,1 MG Road,+91 1,"{""mon"": [[""09:00"", ""17:00""]]}"
Stop B,12.98,77.60,customer,,,
"""

CSV_BAD = """name,lat,lng,location_type
Stop A,12.97,77.59,customer
Stop B,95,77.60,customer
Stop C,12.99,77.61,restaurant
Stop D,12.99,77.61,spaceport
"""


async def test_csv_import_all_or_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    headers = {**admin.headers, "Content-Type": "text/csv"}
    bad = await client.post("/api/v1/locations/import", content=CSV_BAD, headers=headers)
    assert bad.status_code == 422
    problems = bad.json()["error"]["details"]["rows"]
    assert {(p["row"], p["field"].split(".")[0]) for p in problems} == {
        (2, "geo"),
        (4, "location_type"),
    }
    assert await count(owner_conn, admin.workspace_id) == 0

    ok = await client.post("/api/v1/locations/import", content=CSV_OK, headers=headers)
    assert ok.status_code == 201, ok.text
    assert ok.json()["data"]["imported"] == 2
    listed = (await client.get("/api/v1/locations", headers=admin.headers)).json()["data"]
    stop_a = next(x for x in listed if x["name"] == "Stop A")
    assert stop_a["operating_hours"] == {"mon": [["09:00", "17:00"]]}
    assert stop_a["contact_info"] == {"phone": "+91 1"}
    missing = await client.post(
        "/api/v1/locations/import", content="name,lat\nA,1\n", headers=headers
    )
    assert missing.status_code == 422
    assert "lng" in missing.json()["error"]["message"]


async def test_geojson_import(client: httpx.AsyncClient, owner_conn: asyncpg.Connection) -> None:
    admin = await register(client)
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [77.59 + i / 100, 12.97]},
            "properties": {"name": f"Drop {i}", "location_type": "customer"},
        }
        for i in range(5)
    ]
    headers = {**admin.headers, "Content-Type": "application/geo+json"}
    broken = {
        "type": "FeatureCollection",
        "features": [
            *features,
            {"type": "Feature", "geometry": None, "properties": {"name": "Nowhere"}},
        ],
    }
    refused = await client.post(
        "/api/v1/locations/import", content=json.dumps(broken), headers=headers
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["rows"][0]["row"] == 6
    assert await count(owner_conn, admin.workspace_id) == 0
    done = await client.post(
        "/api/v1/locations/import",
        content=json.dumps({"type": "FeatureCollection", "features": features}),
        headers=headers,
    )
    assert done.json()["data"]["imported"] == 5
    assert await count(owner_conn, admin.workspace_id) == 5
    wrong_type = await client.post(
        "/api/v1/locations/import",
        content="x",
        headers={**admin.headers, "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 422


async def test_other_workspace_locations_are_not_found(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    other = await register(client)
    theirs = await create(client, other, place("Secret Depot", 77.5, 13.0))
    url = f"/api/v1/locations/{theirs['id']}"
    assert (await client.get(url, headers=admin.headers)).status_code == 404
    assert (await client.patch(url, json={"name": "x"}, headers=admin.headers)).status_code == 404
    assert (await client.delete(url, headers=admin.headers)).status_code == 404
    near = await client.get("/api/v1/locations/near?lat=13&lng=77.5", headers=admin.headers)
    assert near.json()["data"] == []
    assert (await client.get(url, headers=other.headers)).json()["data"]["name"] == "Secret Depot"
