"""The quantum API over REST and GraphQL: roles, simulations, health, tenancy."""

from __future__ import annotations

import uuid

import httpx

from tests.helpers import ERR, error_code, gql, member, register
from tests.routing_helpers import CUSTOMERS, DEPOT, make_location

SQUARE = [
    {"source": 0, "target": 1, "weight": 1},
    {"source": 1, "target": 2, "weight": 1},
    {"source": 2, "target": 3, "weight": 1},
    {"source": 3, "target": 0, "weight": 1},
    {"source": 0, "target": 2, "weight": 2.5},
    {"source": 1, "target": 3, "weight": 2.5},
]
FAST = {"max_iterations": 20, "shots": 512}


async def test_rest_roles_simulation_health_and_tenancy(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    analyst = await member(client, admin, "analyst")
    driver = await member(client, admin, "driver")
    depot = await make_location(client, admin, "Depot", *DEPOT, "depot")
    stops = [
        await make_location(client, admin, f"C{i}", lng, lat, "customer")
        for i, (lng, lat) in enumerate(CUSTOMERS[:3])
    ]
    body = {"location_ids": stops, "depot_location_id": depot, **FAST}

    for who in (viewer, analyst, driver):
        refused = await client.post("/api/v1/quantum/optimize", json=body, headers=who.headers)
        assert refused.status_code == 403
    queued = await client.post("/api/v1/quantum/optimize", json=body, headers=admin.headers)
    assert queued.status_code == 202, queued.text
    job = queued.json()["data"]
    assert job["status"] == "pending" and job["id"]

    for who in (admin, viewer, driver):
        read = await client.get(f"/api/v1/quantum/job/{job['id']}", headers=who.headers)
        assert read.status_code == 200
        assert read.json()["data"]["quantum_runs"] == []
    listed = await client.get("/api/v1/quantum/jobs?per_page=5", headers=analyst.headers)
    assert listed.status_code == 200
    assert [j["id"] for j in listed.json()["data"]] == [job["id"]]
    assert listed.json()["meta"]["pagination"]["total"] == 1
    assert (await client.get("/api/v1/quantum/jobs", headers=driver.headers)).status_code == 403

    simulate = {"objective": "maxcut", "num_nodes": 4, "edges": SQUARE, **FAST}
    denied = await client.post("/api/v1/quantum/simulate", json=simulate, headers=driver.headers)
    assert denied.status_code == 403
    cut = await client.post("/api/v1/quantum/simulate", json=simulate, headers=analyst.headers)
    assert cut.status_code == 200, cut.text
    data = cut.json()["data"]
    assert data["circuit"]["qubits"] == 4 and data["circuit"]["depth"] > 0
    assert data["exact_optimum"]["cost"] == 7.0  # {0, 1} against {2, 3}
    assert data["top_states"] and data["uniform_random"]
    tour = await client.post(
        "/api/v1/quantum/simulate",
        json={"objective": "tsp", "num_nodes": 4, "edges": SQUARE, **FAST},
        headers=analyst.headers,
    )
    assert tour.status_code == 200, tour.text
    assert tour.json()["data"]["exact_optimum"]["cost"] == 4.0
    assert tour.json()["data"]["circuit"]["qubits"] == 9
    partial = await client.post(
        "/api/v1/quantum/simulate",
        json={"objective": "tsp", "num_nodes": 4, "edges": SQUARE[:4]},
        headers=analyst.headers,
    )
    assert partial.status_code == 422
    simulated = await client.get(f"/api/v1/quantum/job/{data['job_id']}", headers=analyst.headers)
    assert simulated.json()["data"]["quantum_runs"][0]["qubits_used"] == 4

    health = await client.get("/api/v1/quantum/health", headers=viewer.headers)
    assert health.status_code == 200
    status = health.json()["data"]
    assert status["aer"]["available"] and status["aer"]["version"]
    assert status["caps"] == {
        "tsp_qubits": 16,
        "partition_qubits": 20,
        "quantum_mode_max_stops": 4,
        "subproblems_per_job": 10,
        "quantum_seconds_per_job": 120.0,
        "seconds_per_subproblem": 15.0,
    }
    assert status["ibm"]["configured"] is False and isinstance(status["gpu"], bool)

    stranger = await register(client, organization="Other Co")
    for path in (f"/api/v1/quantum/job/{job['id']}", f"/api/v1/quantum/job/{uuid.uuid4()}"):
        missing = await client.get(path, headers=stranger.headers)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "NOT_FOUND"
    foreign = await client.post(
        "/api/v1/quantum/optimize",
        json={"location_ids": stops, "depot_location_id": depot},
        headers=stranger.headers,
    )
    assert foreign.status_code == 404
    bad = await client.post(
        "/api/v1/quantum/optimize", json={"depot_location_id": depot}, headers=admin.headers
    )
    assert bad.status_code == 422


OPTIMIZE = f"""
mutation($input: QuantumOptimizeInput!) {{
  quantumOptimize(input: $input) {{ ... on QuantumJob {{ id status runs {{ id }} }} {ERR} }}
}}"""
JOB = """
query($id: UUID!) {
  quantumJob(id: $id) { id status solverType comparison runs { qubitsUsed } }
}"""
JOBS = "query { quantumJobs(first: 5) { totalCount edges { node { id status } } } }"
SIMULATE = f"""
mutation($input: QuantumSimulateInput!) {{
  quantumSimulate(input: $input) {{ ... on QuantumSimulation {{ jobId result }} {ERR} }}
}}"""


async def test_graphql_flow_and_roles(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    depot = await make_location(client, admin, "Depot", *DEPOT, "depot")
    stops = [
        await make_location(client, admin, f"C{i}", lng, lat, "customer")
        for i, (lng, lat) in enumerate(CUSTOMERS[:5])
    ]
    variables = {"input": {"locationIds": stops[:3], "depotLocationId": depot, "shots": 256}}
    created = await gql(client, OPTIMIZE, variables, session=admin)
    assert "errors" not in created, created
    job = created["data"]["quantumOptimize"]
    assert job["status"] == "PENDING" and job["runs"] == []
    assert error_code(await gql(client, OPTIMIZE, variables, session=viewer)) == "FORBIDDEN"
    over = {"input": {"locationIds": stops, "depotLocationId": depot}}
    assert error_code(await gql(client, OPTIMIZE, over, session=admin)) == "VALIDATION_ERROR"

    read = await gql(client, JOB, {"id": job["id"]}, session=viewer)
    assert read["data"]["quantumJob"]["solverType"] == "quantum"
    assert error_code(await gql(client, JOBS, session=viewer)) == "FORBIDDEN"
    listed = await gql(client, JOBS, session=admin)
    assert listed["data"]["quantumJobs"]["totalCount"] == 1

    sim = await gql(
        client,
        SIMULATE,
        {"input": {"objective": "MAXCUT", "numNodes": 4, "edges": SQUARE, "maxIterations": 20}},
        session=admin,
    )
    assert "errors" not in sim, sim
    assert sim["data"]["quantumSimulate"]["result"]["exact_optimum"]["cost"] == 7.0
    health = await gql(client, "{ quantumHealth }", session=viewer)
    assert health["data"]["quantumHealth"]["aer"]["available"]

    stranger = await register(client, organization="Other Co")
    hidden = await gql(client, JOB, {"id": job["id"]}, session=stranger)
    assert error_code(hidden) == "NOT_FOUND"
