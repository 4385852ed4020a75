"""The experience API: six modes from validated data files, the workspace's overrides
merged in and named, admins only may override, unknown modes and bad overrides refused."""

from __future__ import annotations

import json

import asyncpg
import httpx
import pytest

from models.experience import ExperienceConfig
from services.operations import experience
from tests.helpers import ERR, error_code, gql, member, register
from tests.operations_helpers import in_workspace

MODES = ["logistics", "food", "agriculture", "smartcity", "emergency", "driver"]


def test_every_mode_file_validates_and_names_its_mode() -> None:
    for mode in MODES:
        raw = json.loads((experience.MODES_DIR / f"{mode}.json").read_text())
        assert ExperienceConfig.model_validate(raw).mode.value == mode
    assert list(experience.defaults()) == MODES
    # Incidents only where they fit.
    enabled = [m for m, c in experience.defaults().items() if c.features.incidents]
    assert enabled == ["smartcity", "emergency"]


async def test_modes_and_one_mode_for_every_role(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    driver = await member(client, admin, "driver")
    listed = await client.get("/api/v1/experience/modes", headers=driver.headers)
    assert listed.status_code == 200
    assert [m["mode"] for m in listed.json()["data"]] == MODES
    assert [m["active"] for m in listed.json()["data"]].count(True) == 1
    one = await client.get("/api/v1/experience/emergency", headers=driver.headers)
    data = one.json()["data"]
    assert data["config"]["terminology"]["vehicle"] == "Unit"
    assert data["config"]["sla_minutes"] == {"critical": 8, "high": 15, "medium": 30, "low": 60}
    assert data["overridden"] == []
    unknown = await client.get("/api/v1/experience/space", headers=driver.headers)
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "NOT_FOUND"


async def test_admin_overrides_are_merged_named_validated_and_audited(
    client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    other = await register(client, organization="Elsewhere")
    operator = await member(client, admin, "operator")
    body = {"terminology": {"vehicle": "Rig"}, "sla_minutes": {"critical": 6}}
    denied = await client.patch("/api/v1/experience/emergency", json=body, headers=operator.headers)
    assert denied.status_code == 403
    patched = await client.patch("/api/v1/experience/emergency", json=body, headers=admin.headers)
    assert patched.status_code == 200, patched.text
    data = patched.json()["data"]
    assert data["config"]["terminology"]["vehicle"] == "Rig"
    assert data["config"]["terminology"]["vehicles"] == "Units"
    assert data["config"]["sla_minutes"]["critical"] == 6
    assert data["overridden"] == ["sla_minutes.critical", "terminology.vehicle"]
    got = (await client.get("/api/v1/experience/emergency", headers=operator.headers)).json()
    assert got["data"]["config"]["terminology"]["vehicle"] == "Rig"
    # Another workspace keeps the defaults.
    theirs = (await client.get("/api/v1/experience/emergency", headers=other.headers)).json()
    assert theirs["data"]["config"]["terminology"]["vehicle"] == "Unit"
    # A null resets one key.
    reset = await client.patch(
        "/api/v1/experience/emergency",
        json={"terminology": {"vehicle": None}},
        headers=admin.headers,
    )
    assert reset.json()["data"]["overridden"] == ["sla_minutes.critical"]

    rows = await in_workspace(
        owner_conn,
        admin.workspace_id,
        "SELECT action, changes FROM audit_logs WHERE action = 'experience.updated'",
    )
    assert len(rows) == 2

    for bad, field in [
        ({"colour": "red"}, "colour"),
        ({"terminology": {"vehical": "Rig"}}, "terminology.vehical"),
        ({"sla_minutes": {"critical": "soon"}}, "sla_minutes.critical"),
        ({"sla_minutes": {"critical": 0}}, "sla_minutes.critical"),
        ({"features": {"incidents": "maybe"}}, "features.incidents"),
        ({"optimize_for": "vibes"}, "optimize_for"),
        ({"mode": "food"}, "mode"),
    ]:
        refused = await client.patch(
            "/api/v1/experience/emergency", json=bad, headers=admin.headers
        )
        assert refused.status_code == 422, (bad, refused.text)
        fields = [f["field"] for f in refused.json()["error"]["details"]["fields"]]
        assert field in fields, (bad, fields)
    unchanged = (await client.get("/api/v1/experience/emergency", headers=admin.headers)).json()
    assert unchanged["data"]["overridden"] == ["sla_minutes.critical"]
    missing = await client.patch("/api/v1/experience/space", json={}, headers=admin.headers)
    assert missing.status_code == 404
    assert (
        len(
            await in_workspace(
                owner_conn,
                admin.workspace_id,
                "SELECT id FROM audit_logs WHERE action = 'experience.updated'",
            )
        )
        == 2
    )


@pytest.mark.parametrize("mode", ["emergency", "unknown"])
async def test_graphql_experience(client: httpx.AsyncClient, mode: str) -> None:
    admin = await register(client)
    viewer = await member(client, admin, "viewer")
    query = "query($m: String!) { experience(mode: $m) { mode label active config overridden } }"
    body = await gql(client, query, {"m": mode}, session=viewer)
    if mode == "unknown":
        assert error_code(body) == "NOT_FOUND"
        return
    assert body["data"]["experience"]["label"] == "Emergency response"
    modes = await gql(client, "{ experienceModes { mode } }", session=viewer)
    assert [m["mode"] for m in modes["data"]["experienceModes"]] == MODES
    update = f"""mutation($m: String!, $o: JSON!) {{
        updateExperience(mode: $m, overrides: $o) {{ ... on Experience {{ config overridden }}
        {ERR} }} }}"""
    denied = await gql(client, update, {"m": mode, "o": {"kpis": ["x"]}}, session=viewer)
    assert error_code(denied) == "FORBIDDEN"
    bad = await gql(client, update, {"m": mode, "o": {"kpis": "x"}}, session=admin)
    assert error_code(bad) == "VALIDATION_ERROR"
    done = await gql(client, update, {"m": mode, "o": {"kpis": ["units_available"]}}, session=admin)
    assert done["data"]["updateExperience"]["overridden"] == ["kpis"]
