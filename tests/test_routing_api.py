"""Routes and jobs over REST: bad requests change nothing, the role matrix, tenancy, lists.

No worker runs here: an optimization request leaves a pending job (the broker keeps the
message), which is all these tests need. tests/test_routing_flow.py runs real workers.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from models.enums import UserRole
from models.permissions import Operation, is_allowed
from services.routing.optimization import run_job
from tasks.progress import BroadcastProgress
from tests.helpers import Session, member, register
from tests.routing_helpers import city, make_location, make_vehicle, route_body

ROUTES = "/api/v1/routes"


async def count(owner: asyncpg.Connection, workspace_id: str, table: str) -> int:
    async with owner.transaction():
        await owner.execute("SELECT set_config('app.current_workspace_id', $1, true)", workspace_id)
        return int(await owner.fetchval(f"SELECT count(*) FROM {table}"))


async def counts(owner: asyncpg.Connection, workspace_id: str) -> tuple[int, ...]:
    tables = ("routes", "route_stops", "optimization_jobs")
    return tuple([await count(owner, workspace_id, t) for t in tables])


def field_of(response: httpx.Response) -> str:
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR", error
    return str(error["details"]["fields"][0]["field"])


async def workspace(client: httpx.AsyncClient) -> tuple[Session, str, list[str]]:
    """A registered admin, with a depot and customers in their workspace."""
    admin = await register(client)
    depot, customers = await city(client, admin)
    return admin, depot, customers


async def create(client: httpx.AsyncClient, who: Session, body: dict[str, Any]) -> dict[str, Any]:
    response = await client.post(ROUTES, json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


async def test_invalid_route_bodies_change_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin, depot, customers = await workspace(client)
    van = await make_vehicle(client, admin, "RT-1")
    rival = await register(client, organization="Rival Logistics")
    their_place = await make_location(client, rival, "Theirs", 77.6, 12.9, "customer")
    their_van = await make_vehicle(client, rival, "RV-1")

    def body(**changes: Any) -> dict[str, Any]:
        return route_body(depot, customers[:3], van, **changes)

    def stop(**changes: Any) -> list[dict[str, Any]]:
        return [{"location_id": customers[0], **changes}, {"location_id": customers[1]}]

    not_found = {
        "unknown location": (body(stops=stop(location_id=str(uuid.uuid4()))), "location_id"),
        "location of another workspace": (body(stops=stop(location_id=their_place)), "location_id"),
        "depot of another workspace": (body(depot_location_id=their_place), "location_id"),
        "vehicle of another workspace": (body(vehicle_id=their_van), "vehicle_id"),
        "unknown vehicle": (body(vehicle_id=str(uuid.uuid4())), "vehicle_id"),
    }
    for case, (payload, key) in not_found.items():
        response = await client.post(ROUTES, json=payload, headers=admin.headers)
        assert response.status_code == 404, case
        assert response.json()["error"]["code"] == "NOT_FOUND", case
        assert key in response.json()["error"]["details"], case

    invalid = {
        "negative load": (body(stops=stop(load_kg=-1)), "stops.0.load_kg"),
        "window end before start": (
            body(
                stops=stop(
                    time_window_start="2030-03-01T10:00:00Z", time_window_end="2030-03-01T09:00:00Z"
                )
            ),
            "stops.0",
        ),
        "naive window": (
            body(stops=stop(time_window_start="2030-03-01T10:00:00")),
            "stops.0.time_window_start",
        ),
        "naive planned start": (body(planned_start="2030-03-01T08:00:00"), "planned_start"),
        "unknown field": (body(colour="red"), "colour"),
        "unknown stop field": (body(stops=stop(priority=1)), "stops.0.priority"),
        "empty stops": (body(stops=[]), "stops"),
        "no stops": ({"name": "x"}, "stops"),
        "negative service time": (
            body(stops=stop(service_time_minutes=-5)),
            "stops.0.service_time_minutes",
        ),
        "location id not a uuid": (body(stops=stop(location_id="depot-1")), "stops.0.location_id"),
        "bad shift time": (
            body(constraints={"time_window_start": "25:00"}),
            "constraints.time_window_start",
        ),
        "shift ends before it starts": (
            body(constraints={"time_window_start": "12:00", "time_window_end": "08:00"}),
            "constraints",
        ),
        "unknown mode": (body(optimization_mode="psychic"), "optimization_mode"),
    }
    for case, (payload, field) in invalid.items():
        response = await client.post(ROUTES, json=payload, headers=admin.headers)
        assert response.status_code == 422, case
        assert field_of(response) == field, case

    assert await counts(owner_conn, admin.workspace_id) == (0, 0, 0)


async def test_invalid_update_changes_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin, depot, customers = await workspace(client)
    route = await create(client, admin, route_body(depot, customers[:3], None))
    url = f"{ROUTES}/{route['id']}"
    refused = [
        ({"stops": []}, 422),
        ({"stops": [{"location_id": customers[0], "load_kg": -2}]}, 422),
        ({"stops": [{"location_id": str(uuid.uuid4())}]}, 404),
        ({"vehicle_id": str(uuid.uuid4())}, 404),
        ({"planned_start": "2030-03-01T08:00:00"}, 422),
        ({"status": "deployed"}, 422),
    ]
    for payload, status in refused:
        response = await client.patch(url, json=payload, headers=admin.headers)
        assert response.status_code == status, payload
    after = (await client.get(url, headers=admin.headers)).json()["data"]
    assert after == route
    assert await counts(owner_conn, admin.workspace_id) == (1, 3, 0)

    # A valid edit replaces the stops; past draft, edits are refused.
    edited = await client.patch(
        url, json={"stops": [{"location_id": customers[5]}]}, headers=admin.headers
    )
    assert [s["location_id"] for s in edited.json()["data"]["stops"]] == [customers[5]]
    await client.post(f"{url}/cancel", headers=admin.headers)
    late = await client.patch(url, json={"name": "Too late"}, headers=admin.headers)
    assert late.status_code == 409
    assert late.json()["error"]["code"] == "CONFLICT"


@pytest.mark.parametrize("wait", ["", "?wait=5"])
async def test_refused_optimizations_change_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, wait: str
) -> None:
    admin, depot, customers = await workspace(client)
    van = await make_vehicle(client, admin, "RT-1")  # no known position
    route = await create(client, admin, route_body(depot, customers[:3], van))
    nowhere = await create(
        client, admin, route_body(depot, customers[:3], van, depot_location_id=None)
    )
    gone_van = await make_vehicle(client, admin, "RT-2")
    orphaned = await create(client, admin, route_body(depot, customers[:3], gone_van))
    deleted = await client.delete(f"/api/v1/vehicles/{gone_van}", headers=admin.headers)
    assert deleted.status_code == 200
    before = await counts(owner_conn, admin.workspace_id)

    def url(route_id: str, query: str = wait) -> str:
        return f"{ROUTES}/{route_id}/optimize{query}"

    cases = [
        (url(route["id"], "?wait=999"), {}, "query.wait"),
        (url(route["id"], "?wait=-1"), {}, "query.wait"),
        (url(route["id"], "?wait=soon"), {}, "query.wait"),
        (url(route["id"]), {"time_limit_s": 0}, "time_limit_s"),
        (url(route["id"]), {"time_limit_s": 301}, "time_limit_s"),
        (url(route["id"]), {"seed": -1}, "seed"),
        (url(route["id"]), {"engine": "pyvrp"}, "engine"),
        (url(nowhere["id"]), {}, "depot_location_id"),
        (url(orphaned["id"]), {}, "vehicle_id"),
    ]
    for target, payload, field in cases:
        response = await client.post(target, json=payload, headers=admin.headers)
        assert response.status_code == 422, (target, payload)
        assert field_of(response) == field, (target, payload)
    missing = await client.post(url(str(uuid.uuid4())), headers=admin.headers)
    assert missing.status_code == 404

    assert await counts(owner_conn, admin.workspace_id) == before
    for route_id in (route["id"], nowhere["id"], orphaned["id"]):
        got = await client.get(f"{ROUTES}/{route_id}", headers=admin.headers)
        assert got.json()["data"]["status"] == "draft"


@pytest.mark.parametrize("wait", ["", "?wait=0.5"])
async def test_optimize_answers_with_the_pending_job_and_a_second_request_conflicts(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, wait: str
) -> None:
    admin, depot, customers = await workspace(client)
    route = await create(client, admin, route_body(depot, customers[:3], None))
    started = time.monotonic()
    accepted = await client.post(f"{ROUTES}/{route['id']}/optimize{wait}", headers=admin.headers)
    waited = time.monotonic() - started
    assert accepted.status_code == 202, accepted.text
    job = accepted.json()["data"]["job"]
    assert job["status"] == "pending" and job["cached"] is False
    assert job["route_id"] == route["id"] and len(job["input_hash"]) == 64
    assert waited >= (0.5 if wait else 0)

    again = await client.post(f"{ROUTES}/{route['id']}/optimize{wait}", headers=admin.headers)
    assert again.status_code == 409
    assert await count(owner_conn, admin.workspace_id, "optimization_jobs") == 1

    polled = await client.get(f"/api/v1/jobs/{job['id']}", headers=admin.headers)
    assert polled.json()["data"]["status"] == "pending"
    cancelled = await client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=admin.headers)
    assert cancelled.status_code == 200
    assert cancelled.json()["data"]["status"] == "cancelled"
    twice = await client.post(f"/api/v1/jobs/{job['id']}/cancel", headers=admin.headers)
    assert twice.status_code == 409
    got = await client.get(f"{ROUTES}/{route['id']}", headers=admin.headers)
    assert got.json()["data"]["status"] == "draft"


@pytest.mark.parametrize("wait", ["", "?wait=30"])
async def test_identical_route_is_optimized_at_once_from_the_cache(
    client: httpx.AsyncClient, app: Starlette, wait: str
) -> None:
    admin, depot, customers = await workspace(client)
    body = route_body(depot, customers[:5], None)
    body["stops"][1] |= {
        "time_window_start": "2030-03-01T09:00:00Z",
        "time_window_end": "2030-03-01T12:00:00Z",
        "notes": "back door",
    }
    # Over before the route starts: left unassigned, at the end without ETAs.
    body["stops"][3] |= {
        "time_window_start": "2030-03-01T06:00:00Z",
        "time_window_end": "2030-03-01T07:00:00Z",
    }
    first = await create(client, admin, body)
    job = (await client.post(f"{ROUTES}/{first['id']}/optimize", headers=admin.headers)).json()
    # What the worker would do with the message.
    await run_job(
        db=app.state.db,
        cache=app.state.cache,
        channel=BroadcastProgress(app.state.broadcast),
        job_id=uuid.UUID(job["data"]["job"]["id"]),
        workspace_id=uuid.UUID(admin.workspace_id),
    )
    planned = (await client.get(f"{ROUTES}/{first['id']}", headers=admin.headers)).json()["data"]

    second = await create(client, admin, body)
    started = time.monotonic()
    hit = await client.post(f"{ROUTES}/{second['id']}/optimize{wait}", headers=admin.headers)
    assert time.monotonic() - started < 5
    assert hit.status_code == 200, hit.text
    data = hit.json()["data"]
    assert data["job"]["status"] == "completed" and data["job"]["cached"] is True
    assert data["job"]["input_hash"] == job["data"]["job"]["input_hash"]
    assert data["route"]["status"] == "optimized"
    assert [s["location_id"] for s in data["route"]["stops"]] == [
        s["location_id"] for s in planned["stops"]
    ]
    assert [s["arrival_eta"] for s in data["route"]["stops"]] == [
        s["arrival_eta"] for s in planned["stops"]
    ]
    assert data["route"]["path"] == planned["path"]
    assert data["route"]["stops"][-1]["arrival_eta"] is None
    # The answer is the route as saved: what reading it back gives.
    saved = await client.get(f"{ROUTES}/{second['id']}", headers=admin.headers)
    assert data["route"] == saved.json()["data"]


# Roles

ROUTE_CALLS: list[tuple[Operation, str, str]] = [
    (Operation.ROUTE_LIST, "GET", ROUTES),
    (Operation.ROUTE_READ, "GET", ROUTES + "/{route}"),
    (Operation.ROUTE_READ, "GET", "/api/v1/jobs/{job}"),
    (Operation.ROUTE_CREATE, "POST", ROUTES),
    (Operation.ROUTE_UPDATE, "PATCH", ROUTES + "/{route}"),
    (Operation.ROUTE_OPTIMIZE, "POST", ROUTES + "/{route}/optimize"),
    (Operation.ROUTE_OPTIMIZE, "POST", "/api/v1/jobs/{job}/cancel"),
    (Operation.ROUTE_DEPLOY, "POST", ROUTES + "/{route}/deploy"),
    (Operation.ROUTE_COMPLETE, "POST", ROUTES + "/{route}/complete"),
    (Operation.ROUTE_UPDATE, "POST", ROUTES + "/{route}/cancel"),
    (Operation.ROUTE_DELETE, "DELETE", ROUTES + "/{route}"),
]


async def test_route_endpoints_follow_the_role_matrix(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin, depot, customers = await workspace(client)
    body = route_body(depot, customers[:2], None)
    people = {UserRole.ADMIN: admin}
    for role in UserRole:
        if role != UserRole.ADMIN:
            people[role] = await member(client, admin, role.value)

    for role, who in people.items():
        # Each role acts on a route and a job of its own, so that one role's changes
        # do not decide what the next one is answered.
        route = await create(client, admin, body)
        optimizing = await create(client, admin, body)
        started = await client.post(f"{ROUTES}/{optimizing['id']}/optimize", headers=admin.headers)
        ids = {"route": route["id"], "job": started.json()["data"]["job"]["id"]}
        for operation, method, template in ROUTE_CALLS:
            payload = body if (method, template) == ("POST", ROUTES) else None
            if method == "PATCH":
                payload = {"name": f"Renamed by {role.value}"}
            response = await client.request(
                method, template.format(**ids), json=payload, headers=who.headers
            )
            where = (role.value, method, template)
            if operation == Operation.ROUTE_COMPLETE and role == UserRole.DRIVER:
                # The role may, but only for its own vehicle: this route has none.
                assert response.status_code == 403, where
                assert "driver of this route's vehicle" in response.json()["error"]["message"]
            elif is_allowed(role.value, operation):
                assert response.status_code != 403, (where, response.text)
                assert response.status_code < 500, (where, response.text)
            else:
                assert response.status_code == 403, (where, response.text)
                assert response.json()["error"]["code"] == "FORBIDDEN"
        if not any(is_allowed(role.value, op) for op, _, _ in ROUTE_CALLS[3:]):
            # A read-only role left its route exactly as it was.
            got = await client.get(f"{ROUTES}/{route['id']}", headers=admin.headers)
            assert got.json()["data"] == route, role

    # The allowed calls did what they say.
    viewer_list = await client.get(ROUTES, headers=people[UserRole.VIEWER].headers)
    assert viewer_list.status_code == 200 and viewer_list.json()["data"]
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        creators = {
            r["role"]
            for r in await owner_conn.fetch(
                "SELECT u.role::text AS role FROM routes r JOIN users u ON u.id = r.created_by"
            )
        }
        deleted = await owner_conn.fetchval(
            "SELECT count(*) FROM routes WHERE deleted_at IS NOT NULL"
        )
    assert creators == {"admin", "operator"}
    assert deleted == 1  # the admin's


async def test_only_the_vehicles_driver_may_complete(
    client: httpx.AsyncClient,
) -> None:
    admin, depot, customers = await workspace(client)
    van = await make_vehicle(client, admin, "RT-1")
    route = await create(client, admin, route_body(depot, customers[:2], van))
    url = f"{ROUTES}/{route['id']}"
    driver = await member(client, admin, "driver")
    await client.post(
        "/api/v1/drivers",
        json={"user_id": driver.user_id, "license_number": "KA-7", "vehicle_id": van},
        headers=admin.headers,
    )
    # Not deployed yet: the driver is refused by the status machine, not the role.
    early = await client.post(f"{url}/complete", headers=driver.headers)
    assert early.status_code == 409
    for who in (admin, await member(client, admin, "operator")):
        refused = await client.post(f"{url}/complete", headers=who.headers)
        assert refused.status_code == 403


# Tenancy


async def test_another_workspaces_ids_are_not_found_on_every_endpoint(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    owner = await register(client)
    depot, customers = await city(client, owner)
    van = await make_vehicle(client, owner, "RT-1")
    route = await create(client, owner, route_body(depot, customers[:3], van))
    pending = await create(client, owner, route_body(depot, customers[3:6], van))
    job = (await client.post(f"{ROUTES}/{pending['id']}/optimize", headers=owner.headers)).json()[
        "data"
    ]["job"]
    before = await counts(owner_conn, owner.workspace_id)

    rival = await register(client, organization="Rival Logistics")
    rival_driver = await member(client, rival, "driver")
    calls = [
        ("GET", f"{ROUTES}/{route['id']}", rival),
        ("PATCH", f"{ROUTES}/{route['id']}", rival),
        ("DELETE", f"{ROUTES}/{route['id']}", rival),
        ("POST", f"{ROUTES}/{route['id']}/optimize", rival),
        ("POST", f"{ROUTES}/{route['id']}/optimize?wait=1", rival),
        ("POST", f"{ROUTES}/{route['id']}/deploy", rival),
        ("POST", f"{ROUTES}/{route['id']}/cancel", rival),
        ("POST", f"{ROUTES}/{route['id']}/complete", rival_driver),
        ("GET", f"/api/v1/jobs/{job['id']}", rival),
        ("POST", f"/api/v1/jobs/{job['id']}/cancel", rival),
    ]
    for method, url, who in calls:
        payload = {"name": "Hijacked"} if method == "PATCH" else None
        response = await client.request(method, url, json=payload, headers=who.headers)
        assert response.status_code == 404, (method, url, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"

    listed = await client.get(f"{ROUTES}?vehicle_id={van}", headers=rival.headers)
    assert listed.json()["data"] == []
    assert listed.json()["meta"]["pagination"]["total"] == 0
    assert await counts(owner_conn, owner.workspace_id) == before
    mine = await client.get(f"{ROUTES}/{route['id']}", headers=owner.headers)
    assert mine.json()["data"] == route
    still = await client.get(f"/api/v1/jobs/{job['id']}", headers=owner.headers)
    assert still.json()["data"]["status"] == "pending"


# Lists


async def test_list_filters_and_pagination(client: httpx.AsyncClient) -> None:
    admin, depot, customers = await workspace(client)
    van = await make_vehicle(client, admin, "RT-1")
    other_van = await make_vehicle(client, admin, "RT-2")
    made = []
    for n, vehicle in enumerate([van, van, van, other_van, None, None]):
        made.append(
            await create(client, admin, route_body(depot, customers[:2], vehicle, name=f"R{n}"))
        )
    await client.post(f"{ROUTES}/{made[0]['id']}/cancel", headers=admin.headers)
    await client.post(f"{ROUTES}/{made[3]['id']}/cancel", headers=admin.headers)
    await client.delete(f"{ROUTES}/{made[5]['id']}", headers=admin.headers)

    async def names(query: str) -> tuple[list[str], dict[str, int]]:
        response = await client.get(f"{ROUTES}{query}", headers=admin.headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return sorted(r["name"] for r in body["data"]), body["meta"]["pagination"]

    assert (await names(""))[0] == ["R0", "R1", "R2", "R3", "R4"]
    assert (await names("?status=draft"))[0] == ["R1", "R2", "R4"]
    assert (await names("?status=cancelled"))[0] == ["R0", "R3"]
    assert (await names("?status=optimized"))[0] == []
    assert (await names(f"?vehicle_id={van}"))[0] == ["R0", "R1", "R2"]
    assert (await names(f"?vehicle_id={van}&status=draft"))[0] == ["R1", "R2"]

    pages = [await names(f"?per_page=2&page={page}") for page in (1, 2, 3)]
    assert [len(p[0]) for p in pages] == [2, 2, 1]
    assert sorted(n for p in pages for n in p[0]) == ["R0", "R1", "R2", "R3", "R4"]
    assert pages[1][1] == {"page": 2, "per_page": 2, "total": 5}
    filtered = await names("?status=draft&per_page=1&page=2")
    assert len(filtered[0]) == 1 and filtered[1] == {"page": 2, "per_page": 1, "total": 3}

    for query, field in [
        ("?status=flying", "query.status"),
        ("?vehicle_id=van-1", "query.vehicle_id"),
        ("?per_page=101", "query.per_page"),
        ("?page=0", "query.page"),
    ]:
        response = await client.get(f"{ROUTES}{query}", headers=admin.headers)
        assert response.status_code == 422, query
        assert field_of(response) == field, query
