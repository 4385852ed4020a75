"""Incidents over REST: report, read, list, the status machine, SLA defaults, roles,
audit and events; bad input changes nothing."""

from __future__ import annotations

from datetime import datetime, timedelta

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from tests.helpers import member, register
from tests.operations_helpers import SCENE, dispatch, in_workspace, incident, stream, unit


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def test_report_read_list_and_walk_the_status_machine(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, redis: Redis
) -> None:
    admin = await register(client)
    responder = await member(client, admin, "responder")
    created = await incident(client, responder, "critical", description="Kitchen fire")
    assert created["status"] == "reported"
    assert created["location"] == {"type": "Point", "coordinates": [SCENE["lng"], SCENE["lat"]]}
    # Critical: 8 minutes from the report.
    assert created["response_sla_minutes"] == 8
    reported = _at(created["timeline"]["reported_at"])
    assert _at(created["sla_deadline"]) - reported == timedelta(minutes=8)
    # No unit anywhere: the best predicted arrival is never, so the clock is at risk.
    assert created["sla_state"] == "at_risk"
    iid = created["id"]

    got = await client.get(f"/api/v1/incidents/{iid}", headers=responder.headers)
    assert got.status_code == 200
    assert got.json()["data"]["units"] == []
    listed = await client.get("/api/v1/incidents", headers=responder.headers)
    assert [i["id"] for i in listed.json()["data"]] == [iid]
    assert listed.json()["meta"]["pagination"]["total"] == 1

    # Reported cannot jump to resolved, nor be marked dispatched without units.
    for status in ("resolved", "closed", "dispatched"):
        bad = await client.patch(
            f"/api/v1/incidents/{iid}", json={"status": status}, headers=responder.headers
        )
        assert bad.status_code == 409, bad.text
        assert bad.json()["error"]["code"] == "CONFLICT"

    patched = await client.patch(
        f"/api/v1/incidents/{iid}",
        json={"severity": "high", "description": "Two floors"},
        headers=responder.headers,
    )
    assert patched.status_code == 200
    assert patched.json()["data"]["severity"] == "high"
    # The clock set at the report stays.
    assert patched.json()["data"]["response_sla_minutes"] == 8

    await unit(client, admin, "AMB 1", 12.975, 77.59)
    sent = await dispatch(client, admin, iid, count=1)
    assert sent.status_code == 200, sent.text
    for status in ("in_progress", "resolved", "closed"):
        moved = await client.patch(
            f"/api/v1/incidents/{iid}", json={"status": status}, headers=responder.headers
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["status"] == status
    timeline = moved.json()["data"]["timeline"]
    assert all(timeline[k] for k in ("reported_at", "dispatched_at", "resolved_at", "closed_at"))
    # Closed is final; and no longer among the active incidents.
    again = await client.patch(
        f"/api/v1/incidents/{iid}", json={"status": "resolved"}, headers=responder.headers
    )
    assert again.status_code == 409
    active = await client.get("/api/v1/incidents", headers=responder.headers)
    assert active.json()["data"] == []
    closed = await client.get("/api/v1/incidents?status=closed", headers=responder.headers)
    assert [i["id"] for i in closed.json()["data"]] == [iid]

    actions = [
        r["action"]
        for r in await in_workspace(
            owner_conn,
            admin.workspace_id,
            "SELECT action FROM audit_logs WHERE resource_id = $1 ORDER BY created_at",
            __import__("uuid").UUID(iid),
        )
    ]
    assert actions[0] == "incident.created"
    assert {
        "incident.updated",
        "incident.dispatched",
        "incident.resolved",
        "incident.closed",
    } <= set(actions)
    created_events = await stream(redis, "incident.created")
    assert [e["data"]["severity"] for e in created_events] == ["critical"]
    assert len(await stream(redis, "incident.dispatched")) == 1


async def test_sla_given_or_from_the_workspace_overrides(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    given = await incident(client, admin, "low", response_sla_minutes=5)
    assert given["response_sla_minutes"] == 5
    patched = await client.patch(
        "/api/v1/experience/logistics", json={"sla_minutes": {"low": 90}}, headers=admin.headers
    )
    assert patched.status_code == 200, patched.text
    default = await incident(client, admin, "low")
    assert default["response_sla_minutes"] == 90
    medium = await incident(client, admin, "medium")
    assert medium["response_sla_minutes"] == 30


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"severity": "apocalyptic", "incident_type": "fire", "location": SCENE}, "severity"),
        (
            {"severity": "high", "incident_type": "fire", "location": {"lat": 95, "lng": 1}},
            "location",
        ),
        (
            {
                "severity": "high",
                "incident_type": "fire",
                "location": {"type": "Point", "coordinates": [200, 1]},
            },
            "location",
        ),
        ({"severity": "high", "location": SCENE}, "incident_type"),
        (
            {
                "severity": "high",
                "incident_type": "fire",
                "location": SCENE,
                "response_sla_minutes": 0,
            },
            "response_sla_minutes",
        ),
        (
            {"severity": "high", "incident_type": "fire", "location": SCENE, "colour": "red"},
            "colour",
        ),
    ],
)
async def test_bad_reports_change_nothing(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection, body: dict, field: str
) -> None:
    admin = await register(client)
    response = await client.post("/api/v1/incidents", json=body, headers=admin.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert any(f["field"].startswith(field) for f in error["details"]["fields"]), error
    rows = await in_workspace(owner_conn, admin.workspace_id, "SELECT id FROM incidents")
    assert rows == []


async def test_roles_and_other_workspaces(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    other = await register(client, organization="Elsewhere")
    iid = (await incident(client, admin))["id"]
    foreign_vehicle = await unit(client, other, "OTHER 1", 12.97, 77.59)
    for role in ("viewer", "driver", "analyst"):
        who = await member(client, admin, role)
        assert (await client.get("/api/v1/incidents", headers=who.headers)).status_code == 403
        create = await client.post(
            "/api/v1/incidents",
            json={"severity": "high", "incident_type": "fire", "location": SCENE},
            headers=who.headers,
        )
        assert create.status_code == 403
        assert create.json()["error"]["code"] == "FORBIDDEN"
    responder = await member(client, admin, "responder")
    # Responders report and follow; only operators and admins dispatch.
    assert (await dispatch(client, responder, iid)).status_code == 403
    for path in (f"/api/v1/incidents/{iid}",):
        assert (await client.get(path, headers=other.headers)).status_code == 404
        patch = await client.patch(path, json={"severity": "low"}, headers=other.headers)
        assert patch.status_code == 404
    assert (await dispatch(client, other, iid)).status_code == 404
    manual = await dispatch(client, admin, iid, vehicle_ids=[foreign_vehicle])
    assert manual.status_code == 404, manual.text
    assert manual.json()["error"]["code"] == "NOT_FOUND"
    still = await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)
    assert still.json()["data"]["status"] == "reported"


@pytest.mark.parametrize("count", [0, 11, "three"])
async def test_bad_dispatch_counts_change_nothing(client: httpx.AsyncClient, count: object) -> None:
    admin = await register(client)
    iid = (await incident(client, admin))["id"]
    vid = await unit(client, admin, "AMB 1", 12.975, 77.59)
    response = await dispatch(client, admin, iid, count=count)
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"][0]["field"] == "count"
    vehicle = await client.get(f"/api/v1/vehicles/{vid}", headers=admin.headers)
    assert vehicle.json()["data"]["status"] == "available"
    got = await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)
    assert got.json()["data"]["status"] == "reported"


async def test_a_closed_incident_cannot_be_dispatched(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    iid = (await incident(client, admin))["id"]
    await unit(client, admin, "AMB 1", 12.975, 77.59)
    await dispatch(client, admin, iid, count=1)
    for status in ("in_progress", "resolved", "closed"):
        await client.patch(
            f"/api/v1/incidents/{iid}", json={"status": status}, headers=admin.headers
        )
    await unit(client, admin, "AMB 2", 12.975, 77.59)
    response = await dispatch(client, admin, iid)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
