"""Fleet over GraphQL: connections, nearby, mutations, and a constant number of queries for
lists with nested relations (dataloaders)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
import httpx
from sqlalchemy import event
from starlette.applications import Starlette

from tests.helpers import ERR, Session, error_code, gql, member, register
from tests.sql_count import sql_sent

VEHICLES_WITH_DRIVERS = """
query($first: Int!, $after: String) {
  vehicles(first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { node { plateNumber driver { licenseNumber user { email } vehicle { plateNumber } } } }
  }
}"""


@contextmanager
def count_statements(app: Starlette) -> Iterator[list[str]]:
    statements: list[str] = []
    engine = app.state.db.engine.sync_engine

    def record(conn, cursor, statement, parameters, context, executemany) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def seed_fleet(owner: asyncpg.Connection, admin: Session, n: int) -> None:
    """n vehicles, each with a driver user and profile, written directly for speed."""
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        for i in range(n):
            vehicle, user = uuid.uuid4(), uuid.uuid4()
            await owner.execute(
                "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number, created_at)"
                " VALUES ($1, $2, 'van', $3, now() + make_interval(secs => $4))",
                vehicle,
                uuid.UUID(admin.workspace_id),
                f"GQ-{i:03d}",
                float(i),
            )
            await owner.execute(
                "INSERT INTO users (id, workspace_id, email, password_hash, full_name, role, status)"
                " VALUES ($1, $2, $3, '!', 'Driver', 'driver', 'active')",
                user,
                uuid.UUID(admin.workspace_id),
                f"d{i}@example.com",
            )
            await owner.execute(
                "INSERT INTO drivers (workspace_id, user_id, vehicle_id, license_number)"
                " VALUES ($1, $2, $3, $4)",
                uuid.UUID(admin.workspace_id),
                user,
                vehicle,
                f"LIC-{i}",
            )


async def test_lists_with_relations_run_a_constant_number_of_queries(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    await seed_fleet(owner_conn, admin, 100)
    counts = {}
    for first in (10, 100):
        with count_statements(app) as statements:
            body = await gql(client, VEHICLES_WITH_DRIVERS, {"first": first}, session=admin)
        edges = body["data"]["vehicles"]["edges"]
        assert len(edges) == first
        assert edges[0]["node"]["driver"]["user"]["email"] == "d0@example.com"
        assert edges[-1]["node"]["driver"]["vehicle"]["plateNumber"] == f"GQ-{first - 1:03d}"
        counts[first] = len(statements)
        # The drivers' users come with the drivers, from the same statement.
        assert not [s for s in statements if "FROM users" in s and "drivers" not in s]
    assert counts[10] == counts[100], counts
    # Authentication, count + page, then one batch per relation (each with its set_config).
    assert counts[100] <= 12, counts

    drivers_query = "{ drivers(first: 100) { edges { node { user { email } vehicle { plateNumber driver { id } } } } } }"
    with count_statements(app) as statements:
        body = await gql(client, drivers_query, session=admin)
    assert len(body["data"]["drivers"]["edges"]) == 100
    assert len(statements) <= 12


FLOOR = """query($first: Int!) { vehicles(first: $first) { edges { node { id plateNumber
  status driver { id licenseNumber user { id fullName } } } } } }"""


async def test_a_list_with_drivers_is_one_statement_whatever_its_size(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """All of a list with drivers and users, authentication included: the membership
    look-up, then one statement that checks the membership and the role and reads the
    vehicles with their drivers and users."""
    # Behind PgBouncer each runs inside BEGIN and COMMIT.
    pooled = app.state.settings.db_transaction_pooling
    admin = await register(client)
    await seed_fleet(owner_conn, admin, 100)
    for first in (10, 100):
        with sql_sent() as sent:
            body = await gql(client, FLOOR, {"first": first}, session=admin)
        edges = body["data"]["vehicles"]["edges"]
        assert len(edges) == first
        assert edges[-1]["node"]["driver"]["licenseNumber"] == f"LIC-{first - 1}"
        assert edges[-1]["node"]["driver"]["user"]["fullName"] == "Driver"
        reads = [s for s in sent if "FROM auth_read_vehicle_cursor(" in s]
        assert len(reads) == 1, sent
        assert len(sent) == (6 if pooled else 2), sent
        assert not [s for s in sent if "FROM vehicles" in s or "FROM drivers" in s], sent


async def test_the_loaders_read_in_the_operations_transaction(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """A list read by its resolver and drivers read by a loader, in one operation: one
    membership check, one read transaction."""
    admin = await register(client)
    await seed_fleet(owner_conn, admin, 3)
    listed = await gql(client, FLOOR, {"first": 1}, session=admin)
    first = listed["data"]["vehicles"]["edges"][0]["node"]["id"]
    query = """query($id: UUID!) { vehicle(id: $id) { driver { licenseNumber user { email } } }
      vehicles(first: 3) { edges { node { plateNumber } } } }"""
    with sql_sent() as sent:
        body = await gql(client, query, {"id": first}, session=admin)
    assert body["data"]["vehicle"]["driver"] == {
        "licenseNumber": "LIC-0",
        "user": {"email": "d0@example.com"},
    }
    assert len(body["data"]["vehicles"]["edges"]) == 3
    assert [s for s in sent if s.startswith("BEGIN READ ONLY")] == ["BEGIN READ ONLY"], sent
    assert len([s for s in sent if "auth_scope_member" in s]) == 1, sent
    assert len([s for s in sent if "FROM drivers d" in s]) == 1, sent


async def test_graphql_reads_see_a_revocation_on_the_next_request(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Sharing a transaction per request keeps no answer across requests: a role change,
    a suspension or a logout applies to the very next query."""
    admin = await register(client)
    await seed_fleet(owner_conn, admin, 3)

    async def set_user(assignment: str) -> None:
        async with owner_conn.transaction():
            await owner_conn.execute(
                "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
            )
            await owner_conn.execute(
                f"UPDATE users SET {assignment} WHERE id = $1", uuid.UUID(admin.user_id)
            )

    async def code() -> str | None:
        body = await gql(client, FLOOR, {"first": 3}, session=admin)
        if body.get("errors") is None:
            assert len(body["data"]["vehicles"]["edges"]) == 3
        return error_code(body)

    assert await code() is None
    await set_user("role = 'viewer'")
    assert await code() == "FORBIDDEN"
    await set_user("role = 'operator'")
    assert await code() is None
    await set_user("status = 'suspended'")
    assert await code() == "UNAUTHORIZED"
    await set_user("status = 'active'")
    assert await code() is None
    logout = await client.post("/api/v1/auth/logout", json={}, headers=admin.headers)
    assert logout.status_code in (200, 204), logout.text
    assert await code() == "UNAUTHORIZED"


async def test_the_read_list_answers_what_the_orm_list_answers(
    client: httpx.AsyncClient,
) -> None:
    """The plain-statement page (drivers and users decrypted from the same row) answers
    field for field what the ORM page answers (a bounding box takes that path)."""
    admin = await register(client)
    driver_user = await member(client, admin, "driver")
    vehicles = []
    for plate, body in (
        ("READ-1", {"last_location": {"type": "Point", "coordinates": [13.4, 52.5]}}),
        ("READ-2", {"metadata": {"depot": "north", "n": 2}}),
    ):
        created = await client.post(
            "/api/v1/vehicles",
            json={"vehicle_type": "van", "plate_number": plate, **body},
            headers=admin.headers,
        )
        assert created.status_code == 201, created.text
        vehicles.append(created.json()["data"]["id"])
    driver = await client.post(
        "/api/v1/drivers",
        json={
            "user_id": driver_user.user_id,
            "vehicle_id": vehicles[1],
            "license_number": "SECRET-LIC-9",
            "phone": "+49 30 1234",
        },
        headers=admin.headers,
    )
    assert driver.status_code == 201, driver.text
    query = """query($filter: VehicleFilterInput) { vehicles(first: 10, filter: $filter) {
      totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id plateNumber
      status vehicleType capacityKg metadata lastLocation { type coordinates } createdAt
      driver { id licenseNumber phone availability totalTrips
        user { id email fullName role status } } } } } }"""
    around = {"bbox": {"minLng": 13, "minLat": 52, "maxLng": 14, "maxLat": 53}}
    read = await gql(client, query, {}, session=admin)
    orm = await gql(client, query, {"filter": around}, session=admin)
    assert "errors" not in read, read
    nodes = [e["node"] for e in read["data"]["vehicles"]["edges"]]
    assert [n["id"] for n in nodes] == vehicles
    assert nodes[1]["driver"]["licenseNumber"] == "SECRET-LIC-9"
    assert nodes[1]["driver"]["user"]["fullName"] == "Driver"
    # The bounding box leaves out the vehicle with no position.
    orm_nodes = [e["node"] for e in orm["data"]["vehicles"]["edges"]]
    assert orm_nodes == [nodes[0]]
    unlocated = await gql(client, query, {"filter": {"search": "READ-2"}}, session=admin)
    assert [e["node"] for e in unlocated["data"]["vehicles"]["edges"]] == [nodes[1]]
    by_id = await gql(
        client,
        query.replace("vehicles(first: 10, filter: $filter) {", "vehicle(id: $id) {")
        .replace("totalCount pageInfo { hasNextPage endCursor } edges { cursor node {", "")
        .replace("} } } } } }", "} } } }")
        .replace("$filter: VehicleFilterInput", "$id: UUID!"),
        {"id": vehicles[1]},
        session=admin,
    )
    assert by_id["data"]["vehicle"] == nodes[1], by_id


async def test_connection_pages_with_cursors(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    await seed_fleet(owner_conn, admin, 7)
    seen: list[str] = []
    after = None
    while True:
        body = await gql(client, VEHICLES_WITH_DRIVERS, {"first": 3, "after": after}, session=admin)
        page = body["data"]["vehicles"]
        assert page["totalCount"] == 7
        seen += [e["node"]["plateNumber"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"GQ-{i:03d}" for i in range(7)]
    bad = await gql(client, VEHICLES_WITH_DRIVERS, {"first": 3, "after": "garbage"}, session=admin)
    assert error_code(bad) == "VALIDATION_ERROR"
    too_many = await gql(client, VEHICLES_WITH_DRIVERS, {"first": 500}, session=admin)
    assert error_code(too_many) == "VALIDATION_ERROR"


async def test_vehicle_mutations_and_nearby(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    created = await gql(
        client,
        """mutation($input: VehicleInput!) { createVehicle(input: $input) { ... on Vehicle {
             id plateNumber lastLocation { type coordinates } status } } }""",
        {
            "input": {
                "vehicleType": "VAN",
                "plateNumber": "gql-1",
                "lastLocation": {"coordinates": [77.5946, 12.9716]},
            }
        },
        session=admin,
    )
    vehicle = created["data"]["createVehicle"]
    assert vehicle["plateNumber"] == "GQL-1"
    assert vehicle["lastLocation"] == {"type": "Point", "coordinates": [77.5946, 12.9716]}
    bad = await gql(
        client,
        "mutation($input: VehicleInput!) { createVehicle(input: $input) {"
        f" ... on Vehicle {{ id }} {ERR} }} }}",
        {"input": {"vehicleType": "VAN", "plateNumber": "GQL-2", "capacityKg": -1}},
        session=admin,
    )
    # An expected failure is a typed result, with the field's path, not a GraphQL error.
    assert "errors" not in bad
    invalid = bad["data"]["createVehicle"]
    assert (invalid["__typename"], invalid["code"]) == ("ValidationError", "VALIDATION_ERROR")
    assert invalid["fields"][0]["path"] == ["capacity_kg"]
    wrong_enum = await gql(
        client,
        'mutation { createVehicle(input: {vehicleType: ROCKET, plateNumber: "X"})'
        " { ... on Vehicle { id } } }",
        session=admin,
    )
    assert error_code(wrong_enum) == "VALIDATION_ERROR"
    nearby = await gql(
        client,
        "{ vehiclesNearby(lat: 12.98, lng: 77.60, radiusM: 5000) { distanceM vehicle { plateNumber } } }",
        session=admin,
    )
    hits = nearby["data"]["vehiclesNearby"]
    assert [h["vehicle"]["plateNumber"] for h in hits] == ["GQL-1"]
    assert 1000 < hits[0]["distanceM"] < 1500
    deleted = await gql(
        client,
        f'mutation {{ deleteVehicle(id: "{vehicle["id"]}") {{ ... on Done {{ ok }} }} }}',
        session=admin,
    )
    assert deleted["data"]["deleteVehicle"] == {"ok": True}
    gone = await gql(client, f'{{ vehicle(id: "{vehicle["id"]}") {{ id }} }}', session=admin)
    assert error_code(gone) == "NOT_FOUND"
    again = await gql(
        client, "{ vehiclesNearby(lat: 12.98, lng: 77.60) { distanceM } }", session=admin
    )
    assert again["data"]["vehiclesNearby"] == []
    viewer = await member(client, admin, "viewer")
    denied = await gql(client, "{ vehicles { totalCount } }", session=viewer)
    assert error_code(denied) == "FORBIDDEN"


async def test_location_import_and_near_over_graphql(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    csv_text = "name,lat,lng,location_type\nA,12.97,77.59,customer\nB,12.98,77.60,warehouse\n"
    imported = await gql(
        client,
        "mutation($c: String!) { importLocations(format: CSV, content: $c) {"
        " ... on ImportResult { imported ids } } }",
        {"c": csv_text},
        session=admin,
    )
    assert imported["data"]["importLocations"]["imported"] == 2
    bad = await gql(
        client,
        "mutation($c: String!) { importLocations(format: CSV, content: $c) {"
        f" ... on ImportResult {{ imported }} {ERR} }} }}",
        {"c": "name,lat,lng\nC,99,1\n"},
        session=admin,
    )
    assert error_code(bad) == "VALIDATION_ERROR"
    assert bad["data"]["importLocations"]["details"]["rows"][0]["row"] == 1
    near = await gql(
        client,
        "{ locationsNear(lat: 12.97, lng: 77.59, locationType: WAREHOUSE) { distanceM location { name geo { coordinates } } } }",
        session=admin,
    )
    assert [n["location"]["name"] for n in near["data"]["locationsNear"]] == ["B"]
    listed = await gql(
        client,
        '{ locations(filter: {search: "a"}) { totalCount edges { node { name } } } }',
        session=admin,
    )
    assert listed["data"]["locations"]["totalCount"] == 1
