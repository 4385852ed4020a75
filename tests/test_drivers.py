"""Driver profiles: role checks, one vehicle per driver, expired licences, other workspaces."""

from __future__ import annotations

import httpx

from tests.helpers import member, register


async def test_driver_profile_assignment_rules(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    h = admin.headers
    driver_user = await member(client, admin, "driver")
    other_driver = await member(client, admin, "driver")
    analyst = await member(client, admin, "analyst")
    van = (
        await client.post(
            "/api/v1/vehicles", json={"vehicle_type": "van", "plate_number": "DRV-1"}, headers=h
        )
    ).json()["data"]

    not_driver = await client.post(
        "/api/v1/drivers", json={"user_id": analyst.user_id, "license_number": "LIC-1"}, headers=h
    )
    assert not_driver.status_code == 422
    expired = await client.post(
        "/api/v1/drivers",
        json={
            "user_id": driver_user.user_id,
            "license_number": "LIC-1",
            "license_expiry": "2020-01-01",
            "vehicle_id": van["id"],
        },
        headers=h,
    )
    assert expired.status_code == 422
    assert expired.json()["error"]["details"]["fields"][0]["field"] == "vehicle_id"
    created = await client.post(
        "/api/v1/drivers",
        json={
            "user_id": driver_user.user_id,
            "license_number": "LIC-1",
            "license_expiry": "2099-01-01",
            "vehicle_id": van["id"],
            "rating": 4.5,
        },
        headers=h,
    )
    assert created.status_code == 201, created.text
    second = await client.post(
        "/api/v1/drivers",
        json={"user_id": other_driver.user_id, "license_number": "LIC-2", "vehicle_id": van["id"]},
        headers=h,
    )
    assert second.status_code == 409
    twice = await client.post(
        "/api/v1/drivers",
        json={"user_id": driver_user.user_id, "license_number": "LIC-3"},
        headers=h,
    )
    assert twice.status_code == 409
    bad_rating = await client.patch(
        f"/api/v1/drivers/{created.json()['data']['id']}", json={"rating": 6}, headers=h
    )
    assert bad_rating.status_code == 422
    listed = await client.get("/api/v1/drivers", headers=h)
    assert [d["vehicle_id"] for d in listed.json()["data"]] == [van["id"]]


async def test_drivers_of_other_workspaces_are_invisible(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    other = await register(client)
    their_driver = await member(client, other, "driver")
    theirs = await client.post(
        "/api/v1/drivers",
        json={"user_id": their_driver.user_id, "license_number": "X-1"},
        headers=other.headers,
    )
    assert theirs.status_code == 201
    url = f"/api/v1/drivers/{theirs.json()['data']['id']}"
    assert (await client.get(url, headers=admin.headers)).status_code == 404
    assert (await client.delete(url, headers=admin.headers)).status_code == 404
    # Nor can their users be given a profile here.
    steal = await client.post(
        "/api/v1/drivers",
        json={"user_id": their_driver.user_id, "license_number": "X-2"},
        headers=admin.headers,
    )
    assert steal.status_code == 404
