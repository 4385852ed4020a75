"""The audit log API: admins read their own workspace's trail, filtered and paged by keyset;
every other role is refused."""

from __future__ import annotations

import httpx

from tests.helpers import gql, member, register
from tests.routing_helpers import make_vehicle


async def test_admin_reads_their_workspace_trail_with_filters_and_keyset_pages(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    vans = [await make_vehicle(client, admin, f"AUD-{n}") for n in range(3)]
    patched = await client.patch(
        f"/api/v1/vehicles/{vans[0]}", json={"capacity_kg": 750}, headers=admin.headers
    )
    assert patched.status_code == 200
    stranger = await register(client)
    await make_vehicle(client, stranger, "OTHER-1")

    everything = await client.get("/api/v1/audit-logs", headers=admin.headers)
    assert everything.status_code == 200, everything.text
    rows = everything.json()["data"]
    assert {r["user_id"] for r in rows} == {admin.user_id}
    assert "OTHER-1" not in everything.text
    # Newest first: the update, then the three creations.
    vehicle_rows = [r for r in rows if r["resource_type"] == "vehicle"]
    assert [r["action"] for r in vehicle_rows] == ["vehicle.updated"] + ["vehicle.created"] * 3
    update = vehicle_rows[0]
    assert update["resource_id"] == vans[0]
    assert update["changes"]["capacity_kg"] == {"from": 1000.0, "to": 750.0}
    assert update["ip_address"] == "203.0.113.7"
    assert update["user_agent"].startswith("python-httpx")

    created = await client.get(
        "/api/v1/audit-logs",
        params={"resource_type": "vehicle", "action": "vehicle.created", "limit": 2},
        headers=admin.headers,
    )
    page = created.json()
    assert [r["resource_id"] for r in page["data"]] == [vans[2], vans[1]]
    assert page["meta"]["pagination"]["has_next"] is True
    following = await client.get(
        "/api/v1/audit-logs",
        params={
            "resource_type": "vehicle",
            "action": "vehicle.created",
            "limit": 2,
            "after": page["meta"]["pagination"]["next_cursor"],
        },
        headers=admin.headers,
    )
    assert [r["resource_id"] for r in following.json()["data"]] == [vans[0]]
    assert following.json()["meta"]["pagination"] == {
        "limit": 2,
        "has_next": False,
        "next_cursor": None,
    }

    one = await client.get(
        "/api/v1/audit-logs",
        params={"resource_id": vans[1], "user_id": admin.user_id},
        headers=admin.headers,
    )
    assert [r["action"] for r in one.json()["data"]] == ["vehicle.created"]
    later = await client.get(
        "/api/v1/audit-logs",
        params={"since": update["created_at"]},
        headers=admin.headers,
    )
    assert update["id"] in {r["id"] for r in later.json()["data"]}
    assert vehicle_rows[3]["id"] not in {r["id"] for r in later.json()["data"]}
    bad = await client.get(
        "/api/v1/audit-logs", params={"since": "yesterday"}, headers=admin.headers
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "query.since"

    # GraphQL: the same rows.
    result = await gql(
        client,
        "query($id: UUID!) { auditLogs(filter: {resourceId: $id}, first: 5) {"
        " edges { node { action resourceType resourceId changes ipAddress } }"
        " pageInfo { hasNextPage } } }",
        {"id": vans[0]},
        session=admin,
    )
    nodes = [e["node"] for e in result["data"]["auditLogs"]["edges"]]
    assert [n["action"] for n in nodes] == ["vehicle.updated", "vehicle.created"]
    assert nodes[0]["changes"]["capacity_kg"]["to"] == 750.0


async def test_roles_other_than_admin_are_refused(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    for role in ("operator", "analyst", "driver", "responder", "viewer"):
        who = await member(client, admin, role)
        refused = await client.get("/api/v1/audit-logs", headers=who.headers)
        assert refused.status_code == 403, role
        assert refused.json()["error"]["code"] == "FORBIDDEN"
        result = await gql(client, "{ auditLogs { edges { node { id } } } }", session=who)
        assert result["errors"][0]["extensions"]["code"] == "FORBIDDEN"
