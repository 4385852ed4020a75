"""Live tracking drives incidents: a responder's positions refresh its ETA and the SLA
prediction, arriving within the arrival radius puts it on scene (the incident goes
`in_progress` with its response and travel times), and a deadline passing with nobody
there is a breach. Every change reaches `incidentUpdated` in the workspace only."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis
from starlette.applications import Starlette

from services.operations import scene
from tests.helpers import ERR, error_code, gql, member, register
from tests.operations_helpers import SCENE, dispatch, in_workspace, incident, stream, unit
from tests.routing_helpers import worker
from tests.test_live_map import subscription

__all__ = ["worker"]

UPDATED = (
    "subscription { incidentUpdated { change incidentId status slaState vehicleId"
    " assignedVehicles } }"
)


async def post(client: httpx.AsyncClient, who: Any, vehicle: str, lat: float, lng: float) -> None:
    body = {"vehicle_id": vehicle, "lat": lat, "lng": lng}
    response = await client.post("/api/v1/tracking/update", json=body, headers=who.headers)
    assert response.status_code == 201, response.text
    await asyncio.sleep(0.4)  # the feed follows the stored batch


async def messages(ws: Any, count: int) -> list[dict[str, Any]]:
    return [
        (await ws.receive_json(timeout=10))["payload"]["data"]["incidentUpdated"]
        for _ in range(count)
    ]


async def test_a_unit_driven_to_the_scene_is_on_scene_and_the_clock_follows(
    app: Starlette, client: httpx.AsyncClient, redis: Redis
) -> None:
    admin = await register(client)
    stranger = await register(client, organization="Elsewhere")
    amb = await unit(client, admin, "AMB 1", SCENE["lat"] + 0.02, SCENE["lng"])
    async with (
        subscription(app, admin, UPDATED) as ws,
        subscription(app, stranger, UPDATED) as other_ws,
    ):
        created = await incident(client, admin, "critical")
        iid = created["id"]
        # 2.2 km away at 40 km/h with the detour: about 4 minutes, inside the 8.
        assert created["sla_state"] == "on_track"
        sent = await dispatch(client, admin, iid, count=1)
        assert sent.json()["data"]["sla_state"] == "on_track"
        first = await messages(ws, 2)
        assert [m["change"] for m in first] == ["created", "dispatched"]
        assert first[1]["assignedVehicles"] == [amb] and first[1]["status"] == "DISPATCHED"

        # Far away (about 60 km): its ETA is past the deadline, the clock at risk.
        await post(client, admin, amb, SCENE["lat"] + 0.55, SCENE["lng"])
        risk = await messages(ws, 1)
        assert risk[0]["change"] == "sla_state" and risk[0]["slaState"] == "AT_RISK"
        got = (await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)).json()["data"]
        assert got["sla_state"] == "at_risk"
        assert got["units"][0]["eta"] > got["sla_deadline"]

        # Back nearby: on track again; then at the scene (about 20 m away).
        await post(client, admin, amb, SCENE["lat"] + 0.01, SCENE["lng"])
        await post(client, admin, amb, SCENE["lat"] + 0.0002, SCENE["lng"])
        rest = await messages(ws, 3)
        assert [m["change"] for m in rest] == ["sla_state", "unit_on_scene", "sla_state"]
        assert rest[0]["slaState"] == "ON_TRACK"
        assert rest[1]["vehicleId"] == amb and rest[1]["status"] == "IN_PROGRESS"
        assert rest[2]["slaState"] == "MET"
        # Another workspace hears nothing of it.
        assert await _nothing(other_ws)

    got = (await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)).json()["data"]
    assert got["status"] == "in_progress"
    assert got["sla_state"] == "met"
    assert got["timeline"]["first_on_scene_at"] is not None
    assert got["units"][0]["on_scene_at"] == got["timeline"]["first_on_scene_at"]
    assert got["response_time_s"] is not None and got["response_time_s"] >= got["travel_time_s"]
    assert got["travel_time_s"] >= 0
    events = await stream(redis, "incident.unit_on_scene")
    assert events[0]["data"]["first"] is True
    assert [e["data"]["sla_state"] for e in await stream(redis, "incident.sla_at_risk")] == [
        "at_risk"
    ]
    assert len(await stream(redis, "incident.sla_met")) == 1

    # Resolving completes the route that reached the scene and frees the unit.
    resolved = await client.patch(
        f"/api/v1/incidents/{iid}", json={"status": "resolved"}, headers=admin.headers
    )
    assert resolved.status_code == 200
    route_id = got["units"][0]["route_id"]
    route = (await client.get(f"/api/v1/routes/{route_id}", headers=admin.headers)).json()["data"]
    assert route["status"] == "completed"
    vehicle = (await client.get(f"/api/v1/vehicles/{amb}", headers=admin.headers)).json()["data"]
    assert vehicle["status"] == "available"


async def _nothing(ws: Any) -> bool:
    try:
        await ws.receive_json(timeout=0.5)
    except Exception:
        return True
    return False


async def test_a_deadline_passing_with_nobody_on_scene_is_a_breach(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection, redis: Redis
) -> None:
    admin = await register(client)
    await unit(client, admin, "AMB 1", SCENE["lat"] + 0.02, SCENE["lng"])
    iid = (await incident(client, admin, "critical"))["id"]
    await dispatch(client, admin, iid, count=1)
    db = app.state.db
    ws_id = uuid.UUID(admin.workspace_id)
    # Before the deadline the check changes nothing.
    async with db.session(ws_id) as session:
        state = await scene.check_deadline(
            session=session, workspace_id=ws_id, incident_id=uuid.UUID(iid), hub=app.state.hub
        )
    assert state == "on_track"
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "UPDATE incidents SET sla_deadline = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(iid),
    )
    for _ in range(2):  # a repeated delivery is harmless
        async with db.session(ws_id) as session:
            state = await scene.check_deadline(
                session=session, workspace_id=ws_id, incident_id=uuid.UUID(iid), hub=None
            )
    assert state == "breached"
    got = (await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)).json()["data"]
    assert got["sla_state"] == "breached"
    assert len(await stream(redis, "incident.sla_breached")) == 1


async def test_graphql_incidents(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    responder = await member(client, admin, "responder")
    viewer = await member(client, admin, "viewer")
    amb = await unit(client, admin, "AMB 1", SCENE["lat"] + 0.01, SCENE["lng"])
    create = f"""mutation($i: IncidentInput!) {{
        createIncident(input: $i) {{ ... on Incident {{ id status severity slaState
          responseSlaMinutes location {{ coordinates }} timeline {{ reportedAt dispatchedAt }} }}
          {ERR} }} }}"""
    variables = {
        "i": {
            "severity": "HIGH",
            "incidentType": "collision",
            "location": {"coordinates": [SCENE["lng"], SCENE["lat"]]},
        }
    }
    assert error_code(await gql(client, create, variables, session=viewer)) == "FORBIDDEN"
    made = (await gql(client, create, variables, session=responder))["data"]["createIncident"]
    assert made["status"] == "REPORTED" and made["responseSlaMinutes"] == 15
    bad = {"i": {**variables["i"], "location": {"coordinates": [200, 1]}}}
    assert error_code(await gql(client, create, bad, session=responder)) == "VALIDATION_ERROR"

    send = f"""mutation($id: UUID!, $d: DispatchInput) {{
        dispatchIncident(id: $id, input: $d) {{ ... on DispatchResultType {{
          dispatched shortfall message slaState
          units {{ vehicleId travelS distanceM eta }} alternatives {{ vehicleId reason }}
          incident {{ status units {{ vehicleId eta vehicle {{ plateNumber }} }} }} }} {ERR} }} }}"""
    denied = await gql(client, send, {"id": made["id"]}, session=responder)
    assert error_code(denied) == "FORBIDDEN"
    over = await gql(client, send, {"id": made["id"], "d": {"count": 11}}, session=admin)
    assert error_code(over) == "VALIDATION_ERROR"
    # No fire engine anywhere: nothing sent, and the answer says so.
    engines = {"id": made["id"], "d": {"vehicleTypes": ["FIRE_ENGINE"], "count": 1}}
    none_sent = (await gql(client, send, engines, session=admin))["data"]["dispatchIncident"]
    assert none_sent["dispatched"] == 0 and none_sent["shortfall"] == 1
    assert none_sent["alternatives"] == [{"vehicleId": amb, "reason": "wrong type"}]
    assert error_code(over) == "VALIDATION_ERROR"
    result = (await gql(client, send, {"id": made["id"]}, session=admin))["data"]
    answer = result["dispatchIncident"]
    # High severity: two units asked, one exists.
    assert answer["dispatched"] == 1 and answer["shortfall"] == 1
    assert answer["units"][0]["vehicleId"] == amb
    assert answer["incident"]["status"] == "DISPATCHED"
    assert answer["incident"]["units"][0]["vehicle"]["plateNumber"] == "AMB 1"

    listing = """query($f: IncidentFilterInput) { incidents(first: 10, filter: $f) {
        totalCount edges { node { id status units { vehicleId } } } } }"""
    page = (await gql(client, listing, {"f": {"status": "DISPATCHED"}}, session=responder))["data"][
        "incidents"
    ]
    assert page["totalCount"] == 1 and page["edges"][0]["node"]["id"] == made["id"]
    none = (await gql(client, listing, {"f": {"severity": "LOW"}}, session=responder))["data"]
    assert none["incidents"]["totalCount"] == 0

    update = f"""mutation($id: UUID!, $p: IncidentPatch!) {{
        updateIncident(id: $id, input: $p) {{ ... on Incident {{ status }} {ERR} }} }}"""
    jump = await gql(client, update, {"id": made["id"], "p": {"status": "CLOSED"}}, session=admin)
    assert error_code(jump) == "CONFLICT"
    step = await gql(
        client, update, {"id": made["id"], "p": {"status": "IN_PROGRESS"}}, session=responder
    )
    assert step["data"]["updateIncident"]["status"] == "IN_PROGRESS"
    one = await gql(
        client,
        "query($id: UUID!) { incident(id: $id) { id status } }",
        {"id": made["id"]},
        session=responder,
    )
    assert one["data"]["incident"]["status"] == "IN_PROGRESS"


async def test_incident_lists_with_units_run_a_constant_number_of_queries(
    app: Starlette, client: httpx.AsyncClient
) -> None:
    from tests.test_fleet_graphql import count_statements

    admin = await register(client)
    for n in range(12):
        await unit(client, admin, f"AMB {n}", SCENE["lat"] + 0.001 * n, SCENE["lng"])
    for _ in range(12):
        iid = (await incident(client, admin, "medium"))["id"]
        assert (await dispatch(client, admin, iid, count=1)).status_code == 200
    query = """query($first: Int!) { incidents(first: $first) { totalCount
        edges { node { id units { eta vehicle { plateNumber } } } } } }"""
    counts = {}
    for first in (3, 12):
        with count_statements(app) as statements:
            body = await gql(client, query, {"first": first}, session=admin)
        edges = body["data"]["incidents"]["edges"]
        assert len(edges) == first
        assert all(e["node"]["units"][0]["vehicle"]["plateNumber"] for e in edges)
        counts[first] = len(statements)
    assert counts[3] == counts[12], counts


async def test_null_for_a_required_field_changes_nothing(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    iid = (await incident(client, admin))["id"]
    for field in ("severity", "status", "incident_type"):
        response = await client.patch(
            f"/api/v1/incidents/{iid}", json={field: None}, headers=admin.headers
        )
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"]["fields"][0]["field"] == field
    got = (await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)).json()["data"]
    assert got["severity"] == "high" and got["incident_type"] == "fire"


async def test_the_deadline_job_on_a_real_worker_marks_a_breach_and_tells_subscribers(
    app: Starlette,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    worker: object,
) -> None:
    from tasks.operations import check_incident_sla

    admin = await register(client)
    iid = (await incident(client, admin, "critical"))["id"]
    await in_workspace(
        owner_conn,
        admin.workspace_id,
        "UPDATE incidents SET sla_deadline = now() - interval '1 second' WHERE id = $1",
        uuid.UUID(iid),
    )
    async with subscription(app, admin, UPDATED) as ws:
        # What the API scheduled at the report, delivered now.
        await asyncio.to_thread(check_incident_sla.send, iid, admin.workspace_id)
        message = (await ws.receive_json(timeout=30))["payload"]["data"]["incidentUpdated"]
    assert message["change"] == "sla_state" and message["slaState"] == "BREACHED"
    assert message["incidentId"] == iid
    got = (await client.get(f"/api/v1/incidents/{iid}", headers=admin.headers)).json()["data"]
    assert got["sla_state"] == "breached"
