"""Analytics: the read models folded from events, the four reports over REST and GraphQL,
their validation and roles, the rebuild from stored events, tenant isolation of every read
model, and reports read through ANALYTICS_DATABASE_URL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from core.events import Event
from services.analytics.consumer import apply_events
from services.analytics.rebuild import rebuild_read_models
from tests.analytics_helpers import (
    DAY,
    GPS_M,
    HOUR,
    READ_MODEL_TABLES,
    Seed,
    read_models,
    seed_events,
    store_events,
    stored_events,
)
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.helpers import Session, gql, member, register

REPORTS = ("routes", "fleet", "efficiency", "quantum")


async def seeded(app: Starlette, owner_conn: asyncpg.Connection, workspace: str) -> Seed:
    """The known history, stored as events and folded by the consumer's handler in three
    deliveries, one of them twice (a redelivery)."""
    seed = seed_events(uuid.UUID(workspace))
    await store_events(owner_conn, seed.events)
    events = await stored_events(owner_conn, workspace)
    third = len(events) // 3
    await apply_events(db=app.state.db, events=events[:third])
    await apply_events(db=app.state.db, events=events[third : 2 * third])
    await apply_events(db=app.state.db, events=events[third : 2 * third])
    await apply_events(db=app.state.db, events=events[2 * third :])
    return seed


async def report(
    client: httpx.AsyncClient, who: Session, name: str, **params: str
) -> dict[str, Any]:
    response = await client.get(f"/api/v1/analytics/{name}", params=params, headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_reports_equal_a_direct_computation_of_the_seeded_history(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    analyst = await member(client, admin, "analyst")
    seed = await seeded(app, owner_conn, admin.workspace_id)
    v1, _idle_van = seed.vans
    (v2,) = seed.trucks

    routes = await report(client, analyst, "routes")
    newest = max(e.timestamp for e in await stored_events(owner_conn, admin.workspace_id))
    assert datetime.fromisoformat(routes["meta"]["as_of"]) == newest
    totals = routes["data"]["totals"]
    assert totals["routes"] == 2
    assert totals["by_status"] == {"cancelled": 1, "completed": 1}
    assert totals["completed"] == {
        "routes": 1,
        "planned_distance_m": 10_000,
        "actual_distance_m": pytest.approx(GPS_M, abs=1e-3),
        "planned_duration_s": 3600,
        "actual_duration_s": 4000,
    }
    assert (totals["stops_served"], totals["stops_on_time"], totals["on_time_rate"]) == (4, 3, 0.75)
    assert totals["deviations"] == 1  # raised once, then escalated: one deviation
    assert totals["deviations_per_100km"] == pytest.approx(100_000 / GPS_M, abs=1e-3)
    by_vehicle = await report(client, analyst, "routes", group_by="vehicle")
    assert {g["key"]: g["by_status"] for g in by_vehicle["data"]["groups"]} == {
        v1: {"completed": 1},
        v2: {"cancelled": 1},
    }
    by_day = await report(client, analyst, "routes", group_by="day")
    assert [g["key"] for g in by_day["data"]["groups"]] == [
        seed.base.date().isoformat(),
        (seed.base + timedelta(days=1)).date().isoformat(),
    ]

    fleet = (await report(client, analyst, "fleet"))["data"]
    # v1: available 0h-2h, in transit 2h-3h, available again at 3h (and said so once more a
    # second later); v2: available 47 h to the next day's 23:00, offline 23:00-01:00 across
    # midnight; v3 never changed and never moved. Each is still in its last status, open
    # up to the newest event folded in: v1 available since 3 h + 1 s, v2 since 49 h, v3
    # since it was created.
    t = fleet["totals"]
    open_s = sum(
        (newest - seed.base).total_seconds() - since for since in (3 * 3600 + 1, 49 * 3600, 0)
    )
    assert t["in_transit_s"] == 3600
    assert t["available_s"] == pytest.approx(2 * 3600 + 1 + 47 * 3600 + open_s, abs=1e-3)
    assert t["offline_s"] == 2 * 3600
    assert t["distance_m"] == pytest.approx(GPS_M, abs=1e-3)
    assert (t["vehicles"], t["vehicles_known"], t["idle_vehicles"]) == (3, 3, 2)
    tracked = 3600 + 49 * 3600 + 1 + 2 * 3600 + open_s
    assert t["utilization"] == round(3600 / tracked, 4)
    assert t["incidents_responded"] == 2
    assert (t["response_p50_s"], t["response_p90_s"]) == (450, 570)
    by_type = {
        g["key"]: g
        for g in (await report(client, analyst, "fleet", group_by="vehicle_type"))["data"]["groups"]
    }
    assert by_type["van"]["in_transit_s"] == 3600 and by_type["van"]["response_p50_s"] == 600
    assert by_type["truck"]["offline_s"] == 7200 and by_type["truck"]["response_p50_s"] == 300
    by_day_fleet = {g["key"]: g for g in (await report(client, analyst, "fleet"))["data"]["groups"]}
    assert by_day_fleet[(seed.base + timedelta(days=1)).date().isoformat()]["offline_s"] == 3600
    assert by_day_fleet[(seed.base + timedelta(days=2)).date().isoformat()]["offline_s"] == 3600

    efficiency = (await report(client, analyst, "efficiency"))["data"]["totals"]
    assert efficiency["optimizations"] == 2
    assert efficiency["distance_m"] == 15_000
    assert efficiency["saved_vs_submitted_m"] == 2_000
    assert efficiency["saved_vs_submitted_pct"] == round(100 * 2_000 / 17_000, 4)
    assert (efficiency["replans"], efficiency["saved_vs_previous_m"]) == (1, 5_000)
    # Time: 4,500 s submitted against 3,600 planned, and 1,800 against 1,800.
    assert efficiency["planned_duration_s"] == 5_400
    assert efficiency["submitted_duration_s"] == 6_300
    assert efficiency["saved_vs_submitted_s"] == 900
    assert efficiency["saved_vs_submitted_time_pct"] == round(100 * 900 / 6_300, 4)
    assert efficiency["saved_vs_previous_s"] == 3_600 - 1_800
    assert (efficiency["cache_hits"], efficiency["cache_hit_rate"]) == (1, 0.5)
    assert efficiency["solve_time_avg_ms"] == 125
    solvers = (await report(client, analyst, "efficiency", group_by="solver"))["data"]["groups"]
    assert [(g["key"], g["optimizations"]) for g in solvers] == [("ortools", 1), ("pyvrp", 1)]

    quantum = (await report(client, analyst, "quantum"))["data"]["totals"]
    assert {k: quantum[k] for k in ("jobs", "completed", "failed")} == {
        "jobs": 3,
        "completed": 2,
        "failed": 1,
    }
    assert (quantum["improved"], quantum["matched"], quantum["lost"]) == (1, 1, 0)
    assert (quantum["fell_back"], quantum["timed_out"]) == (1, 1)
    assert (quantum["qubits_max"], quantum["depth_max"], quantum["energy_min"]) == (10, 40, -3.5)
    assert (quantum["gaps_measured"], quantum["exact_optimum_found"]) == (2, 1)
    assert (quantum["gap_to_exact_max"], quantum["cost_saved"], quantum["time_ms"]) == (
        2.0,
        10.0,
        4600,
    )
    modes = (await report(client, analyst, "quantum", group_by="mode"))["data"]["groups"]
    assert [(g["key"], g["jobs"]) for g in modes] == [("hybrid", 1), ("quantum", 2)]

    # A range that ends before the history: nothing, and still fresh as of the same event.
    early = await report(
        client,
        analyst,
        "routes",
        **{"from": (seed.base - timedelta(days=9)).isoformat(), "to": seed.base.isoformat()},
    )
    assert early["data"]["totals"]["routes"] == 0 and early["data"]["groups"] == []

    # GraphQL gives the same report.
    body = await gql(
        client,
        'query { analyticsFleet(groupBy: "vehicle_type") { report groupBy asOf totals groups } }',
        session=analyst,
    )
    assert "errors" not in body, body
    assert body["data"]["analyticsFleet"]["totals"]["incidents_responded"] == 2
    assert {g["key"] for g in body["data"]["analyticsFleet"]["groups"]} == {"van", "truck"}


async def test_rebuilding_from_stored_events_gives_the_incremental_read_models(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    admin = await register(client)
    seed = await seeded(app, owner_conn, admin.workspace_id)
    incremental = await read_models(owner_conn, admin.workspace_id)
    assert incremental["analytics_routes"] and incremental["analytics_vehicle_days"]
    to = datetime.now(UTC).isoformat()
    before = await report(client, admin, "fleet", group_by="vehicle", to=to)

    replayed = await rebuild_read_models(db=app.state.db, workspace_id=seed.workspace_id, batch=7)
    assert replayed == len(await stored_events(owner_conn, admin.workspace_id))
    assert await read_models(owner_conn, admin.workspace_id) == incremental
    after = await report(client, admin, "fleet", group_by="vehicle", to=to)
    assert after["data"] == before["data"]
    # The rebuild marked every event applied: a late delivery of one changes nothing.
    await apply_events(db=app.state.db, events=seed.events[-5:])
    assert await read_models(owner_conn, admin.workspace_id) == incremental


STATUSES = ("in_transit", "available", "offline", "maintenance")


def clipped_status_seconds(
    facts: list[asyncpg.Record], start: datetime, end: datetime, as_of: datetime
) -> dict[tuple[str, str], float]:
    """Seconds per (status, UTC day) of the intervals between each vehicle's consecutive
    facts, the last one open until `as_of`, clipped to [start, end)."""
    out: dict[tuple[str, str], float] = {}
    by_vehicle: dict[uuid.UUID, list[asyncpg.Record]] = {}
    for fact in facts:
        by_vehicle.setdefault(fact["vehicle_id"], []).append(fact)
    for rows in by_vehicle.values():
        rows.sort(key=lambda r: r["at"])
        ends = [r["at"] for r in rows[1:]] + [max(as_of, rows[-1]["at"])]
        for this, until in zip(rows, ends, strict=True):
            s, e = max(this["at"], start), min(until, end)
            while s < e:
                midnight = s.replace(hour=0, minute=0, second=0, microsecond=0)
                cut = min(e, midnight + timedelta(days=1))
                key = (this["status"], s.date().isoformat())
                out[key] = out.get(key, 0.0) + (cut - s).total_seconds()
                s = cut
    return out


def awkward_ranges(base: datetime) -> list[tuple[datetime, datetime]]:
    """Ranges from the seed's first midnight that start and end mid-day, lie within one
    day, fall on midnights, or end past the newest event."""
    return [
        (base + timedelta(hours=2, minutes=30), base + timedelta(days=1, hours=5)),
        (base + timedelta(minutes=30), base + timedelta(hours=2, minutes=30)),
        (base, base + timedelta(days=3)),
        (base - timedelta(hours=4), base + timedelta(days=2, hours=1, seconds=7)),
        (base + timedelta(days=1, hours=3), base + timedelta(days=4, hours=12)),
    ]


async def test_status_time_over_any_range_is_the_facts_clipped_to_it(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Whole days come from the per-day sums, partial days from the facts: ranges that
    start and end mid-day, lie within one day, or fall on midnights all agree with the
    status facts clipped by hand."""
    admin = await register(client)
    seed = await seeded(app, owner_conn, admin.workspace_id)
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        facts = await owner_conn.fetch(
            "SELECT vehicle_id, at, status FROM analytics_vehicle_status"
        )
    ranges = awkward_ranges(seed.base)
    as_of = max(e.timestamp for e in await stored_events(owner_conn, admin.workspace_id))
    for start, end in ranges:
        expected = clipped_status_seconds(facts, start, end, as_of)
        params = {"from": start.isoformat(), "to": end.isoformat()}
        body = (await report(client, admin, "fleet", **params))["data"]
        for status in STATUSES:
            total = sum(v for (s, _), v in expected.items() if s == status)
            assert body["totals"][f"{status}_s"] == pytest.approx(total, abs=1e-3), (start, end)
        for group in body["groups"]:
            day_in_transit = expected.get(("in_transit", group["key"]), 0.0)
            assert group["in_transit_s"] == pytest.approx(day_in_transit, abs=1e-3)


async def test_status_days_do_not_depend_on_the_order_facts_arrive_in(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The seed's vehicle status changes, one delivery each: every vehicle's first and
    last fact, then the ones between them (each splitting an interval already counted):
    the per-day status time is the rebuild's, in order, and the fleet report the same."""
    admin = await register(client)
    seed = seed_events(uuid.UUID(admin.workspace_id))
    changes = [
        e for e in seed.events if e.event_type in ("vehicle.created", "vehicle.status_changed")
    ]
    await store_events(owner_conn, changes)
    tracks: dict[str, list[Event]] = {}
    for event in await stored_events(owner_conn, admin.workspace_id):
        tracks.setdefault(str(event.data.get("vehicle_id")), []).append(event)
    assert max(len(track) for track in tracks.values()) >= 3
    ends = [e for track in tracks.values() for e in (track[0], track[-1])]
    between = [e for track in tracks.values() for e in track[1:-1]]
    for event in (*ends, *between):
        await apply_events(db=app.state.db, events=[event])
    backwards = await read_models(owner_conn, admin.workspace_id)
    assert len(backwards["analytics_vehicle_status_days"]) >= 3
    to = datetime.now(UTC).isoformat()
    before = (await report(client, admin, "fleet", group_by="day", to=to))["data"]
    await rebuild_read_models(db=app.state.db, workspace_id=seed.workspace_id)
    assert await read_models(owner_conn, admin.workspace_id) == backwards
    assert (await report(client, admin, "fleet", group_by="day", to=to))["data"] == before


def more_fleet_history(seed: Seed) -> list[Event]:
    """Beside the seed: a truck on the road across a midnight that drives on the next day and
    is deleted the day after, a van that moves without changing status, and on the last day
    a change for every vehicle (the days before have no open interval), the van's on the
    road twice (the second time still), and the truck moving after its last change."""
    v4, (v1, v3), (v2,) = str(uuid.uuid4()), seed.vans, seed.trucks

    def at(offset: int, topic: str, **data: Any) -> Event:
        when = seed.base + timedelta(seconds=offset)
        if topic == "vehicle.position_updated":
            data["recorded_at"] = when.isoformat().replace("+00:00", "Z")
        return Event(topic, seed.workspace_id, None, data, timestamp=when)

    fix = "vehicle.position_updated"
    return [
        at(DAY + 20 * HOUR, "vehicle.created", vehicle_id=v4, vehicle_type="truck"),
        at(DAY + 22 * HOUR, "vehicle.status_changed", vehicle_id=v4, to="in_transit"),
        at(2 * DAY + HOUR, fix, vehicle_id=v4, position=[77.59, 12.97]),
        at(2 * DAY + HOUR + 600, fix, vehicle_id=v4, position=[77.60, 12.98]),
        at(2 * DAY + 5 * HOUR, fix, vehicle_id=v3, position=[77.59, 12.97]),
        at(2 * DAY + 5 * HOUR + 600, fix, vehicle_id=v3, position=[77.59, 12.99]),
        at(3 * DAY + 2 * HOUR, "vehicle.deleted", vehicle_id=v4),
        at(3 * DAY + 4 * HOUR, "vehicle.status_changed", vehicle_id=v1, to="maintenance"),
        at(3 * DAY + 5 * HOUR, "vehicle.status_changed", vehicle_id=v2, to="offline"),
        at(3 * DAY + 6 * HOUR, "vehicle.status_changed", vehicle_id=v3, to="in_transit"),
        at(3 * DAY + 7 * HOUR, "vehicle.status_changed", vehicle_id=v3, to="available"),
        at(3 * DAY + 8 * HOUR, "vehicle.status_changed", vehicle_id=v3, to="in_transit"),
        at(3 * DAY + 9 * HOUR, fix, vehicle_id=v2, position=[77.59, 12.97]),
        at(3 * DAY + 9 * HOUR + 600, fix, vehicle_id=v2, position=[77.58, 12.97]),
    ]


def rounded(value: Any) -> Any:
    """A report body with its floats to the centimetre or centisecond: summing the same
    figures per day first may change the last digits."""
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return round(value, 2) if isinstance(value, float) else value


async def test_the_fleets_days_answer_as_every_vehicles_own_rows_do(
    app: Starlette,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """By day and by week the fleet report reads a row a day and each vehicle's day sets:
    over ranges that start and end mid-day, lie within one day, fall on midnights, span
    weeks or run past `as_of`, it gives what summing every vehicle's rows gives."""
    from services.analytics import reports

    admin = await register(client)
    seed = seed_events(uuid.UUID(admin.workspace_id))
    await store_events(owner_conn, [*seed.events, *more_fleet_history(seed)])
    events = await stored_events(owner_conn, admin.workspace_id)
    await apply_events(db=app.state.db, events=events[len(events) // 2 :])
    await apply_events(db=app.state.db, events=events[: len(events) // 2])
    base = seed.base
    ranges = [
        *awkward_ranges(base),
        (base - timedelta(days=9, hours=7), base + timedelta(days=11, hours=1)),  # weeks
        (base + timedelta(days=2, hours=23), base + timedelta(days=3, hours=3)),
    ]
    checked = 0
    for start, end in ranges:
        for group_by in ("day", "week"):
            params = {"from": start.isoformat(), "to": end.isoformat(), "group_by": group_by}
            by_days = (await report(client, admin, "fleet", **params))["data"]
            with monkeypatch.context() as patched:
                patched.setattr(reports, "_FLEET_BY_TIME", reports._FLEET_BY_VEHICLE)
                by_vehicles = (await report(client, admin, "fleet", **params))["data"]
            assert rounded(by_days) == rounded(by_vehicles), params
            checked += len(by_days["groups"])
    assert checked > 20
    totals = (await report(client, admin, "fleet", group_by="week"))["data"]["totals"]
    assert (totals["vehicles"], totals["vehicles_known"], totals["idle_vehicles"]) == (4, 3, 0)


async def test_folding_one_event_at_a_time_gives_the_rebuilds_fleet_days(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """Each event its own delivery (a GPS fix alone, a status change alone): the fleet's days
    and each vehicle's day sets are the ones the rebuild fills at its end."""
    admin = await register(client)
    seed = seed_events(uuid.UUID(admin.workspace_id))
    await store_events(owner_conn, [*seed.events, *more_fleet_history(seed)])
    for event in await stored_events(owner_conn, admin.workspace_id):
        await apply_events(db=app.state.db, events=[event])
    one_by_one = await read_models(owner_conn, admin.workspace_id)
    assert any(
        len(row[2]) or len(row[4]) for row in one_by_one["analytics_vehicle_spans"]
    )  # day sets of status time and of distance
    await rebuild_read_models(db=app.state.db, workspace_id=seed.workspace_id)
    assert await read_models(owner_conn, admin.workspace_id) == one_by_one


async def test_the_migration_fills_the_fleets_days_as_the_fold_does(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """The per-day models that migration 0028 fills from the per-vehicle rows already folded
    are the rows the fold keeps."""
    import importlib.util

    from tests.conftest import ROOT

    spec = importlib.util.spec_from_file_location(
        "fleet_days_migration", ROOT / "migrations/versions/0028_analytics_fleet_days.py"
    )
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    admin = await register(client)
    seed = seed_events(uuid.UUID(admin.workspace_id))
    await store_events(owner_conn, [*seed.events, *more_fleet_history(seed)])
    await apply_events(db=app.state.db, events=await stored_events(owner_conn, admin.workspace_id))
    folded = await read_models(owner_conn, admin.workspace_id)
    assert folded["analytics_fleet_days"] and folded["analytics_vehicle_spans"]
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute("DELETE FROM analytics_fleet_days")
        await owner_conn.execute("DELETE FROM analytics_vehicle_spans")
        await owner_conn.execute(migration.BACKFILL_DAYS)
        await owner_conn.execute(migration.BACKFILL_SPANS)
    assert await read_models(owner_conn, admin.workspace_id) == folded


async def test_the_rebuild_command_replays_every_workspace(
    database: DatabaseUnderTest,
    app: Starlette,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
) -> None:
    import asyncio
    import os
    import sys

    from tests.conftest import ROOT

    admin = await register(client)
    await seeded(app, owner_conn, admin.workspace_id)
    incremental = await read_models(owner_conn, admin.workspace_id)
    async with owner_conn.transaction():  # a read model lost
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", admin.workspace_id
        )
        await owner_conn.execute("DELETE FROM analytics_routes")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tasks.analytics_rebuild",
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database.owner_url, "ENVIRONMENT": "test"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()
    assert admin.workspace_id in out.decode()
    assert await read_models(owner_conn, admin.workspace_id) == incremental


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2030-02-01T00:00:00Z", "to": "2030-01-01T00:00:00Z"}, "query.from"),
        ({"from": "2029-01-01T00:00:00Z", "to": "2030-03-01T00:00:00Z"}, "query.to"),
        ({"group_by": "month"}, "query.group_by"),
        ({"group_by": "solver"}, "query.group_by"),  # efficiency's, not the routes report's
        ({"from": "yesterday"}, "query.from"),
        ({"colour": "red"}, "query.colour"),
    ],
)
async def test_an_invalid_range_or_grouping_is_422_naming_the_field(
    client: httpx.AsyncClient, params: dict[str, str], field: str
) -> None:
    admin = await register(client)
    response = await client.get("/api/v1/analytics/routes", params=params, headers=admin.headers)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert [f["field"] for f in error["details"]["fields"]] == [field]


async def test_graphql_validates_the_range_too(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    body = await gql(
        client,
        'query { analyticsQuantum(from: "2030-02-01T00:00:00Z", to: "2030-01-01T00:00:00Z")'
        " { totals } }",
        session=admin,
    )
    error = body["errors"][0]
    assert error["extensions"]["code"] == "VALIDATION_ERROR"
    assert "from" in error["message"]


async def test_reports_are_for_analysts_and_above(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    for role, allowed in (("operator", True), ("analyst", True), ("driver", False)):
        who = await member(client, admin, role)
        for name in REPORTS:
            response = await client.get(f"/api/v1/analytics/{name}", headers=who.headers)
            assert response.status_code == (200 if allowed else 403), (role, name)
    assert (await client.get("/api/v1/analytics/fleet")).status_code == 401


async def test_an_empty_workspace_gets_empty_reports(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    for name in REPORTS:
        body = await report(client, admin, name, group_by="week")
        assert body["data"]["groups"] == [], name
        assert body["data"]["group_by"] == "week"
    fleet = (await report(client, admin, "fleet"))["data"]["totals"]
    assert (fleet["vehicles"], fleet["incidents_responded"], fleet["utilization"]) == (0, 0, None)


async def test_no_path_shows_another_workspaces_read_models(
    app: Starlette,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
    app_conn: asyncpg.Connection,
) -> None:
    ours = await register(client)
    theirs = await register(client, organization="Rival Logistics")
    await seeded(app, owner_conn, theirs.workspace_id)
    # Their models have rows; as the application role, neither our workspace's setting nor
    # none at all shows one of them, in any read model, and no role bypasses the policy.
    assert all((await read_models(owner_conn, theirs.workspace_id)).values())
    assert not any((await read_models(app_conn, ours.workspace_id)).values())
    for table in READ_MODEL_TABLES:
        assert await app_conn.fetchval(f"SELECT count(*) FROM {table}") == 0
        forced = await owner_conn.fetchval(
            "SELECT relrowsecurity AND relforcerowsecurity FROM pg_class WHERE relname = $1",
            table,
        )
        assert forced, table
    async with app_conn.transaction():
        await app_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", ours.workspace_id
        )
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await app_conn.execute(
                "INSERT INTO analytics_routes (workspace_id, route_id, day, status)"
                " VALUES ($1, $2, current_date, 'draft')",
                uuid.UUID(theirs.workspace_id),
                uuid.uuid4(),
            )
    # Over both APIs our reports are empty.
    for name in REPORTS:
        body = await report(client, ours, name)
        assert body["data"]["groups"] == [], name
    graph = await gql(client, "query { analyticsRoutes { totals } }", session=ours)
    assert graph["data"]["analyticsRoutes"] == {
        "totals": (await report(client, ours, "routes"))["data"]["totals"]
    }
    assert graph["data"]["analyticsRoutes"]["totals"]["routes"] == 0


async def test_reports_read_through_analytics_database_url(
    database: DatabaseUnderTest,
    app: Starlette,
    client: httpx.AsyncClient,
    owner_conn: asyncpg.Connection,
) -> None:
    admin = await register(client)
    await seeded(app, owner_conn, admin.workspace_id)
    # The primary under another name stands in for a streaming replica.
    replica = database.settings.app_dsn.replace("127.0.0.1", "localhost")
    assert replica != database.settings.app_dsn
    settings = settings_for(database.name, analytics_database_url=replica)
    to = datetime.now(UTC).isoformat()
    other, lifespan = await start_app(settings)
    try:
        assert other.state.analytics_db is not other.state.db
        assert other.state.analytics_db.engine.url.host == "localhost"
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            for name in REPORTS:
                via_replica = await report(http, admin, name, to=to)
                direct = await report(client, admin, name, to=to)
                assert via_replica["data"] == direct["data"], name
                assert via_replica["meta"]["as_of"] == direct["meta"]["as_of"] is not None
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_cancelling_a_route_that_never_left_keeps_its_vehicle_on_the_road(
    app: Starlette, client: httpx.AsyncClient, owner_conn: asyncpg.Connection
) -> None:
    """A van on the road with a draft route for later: cancelling the draft frees nothing,
    in the service as in the fleet report."""
    admin = await register(client)
    analyst = await member(client, admin, "analyst")
    workspace = uuid.UUID(admin.workspace_id)
    van, draft = str(uuid.uuid4()), str(uuid.uuid4())
    base = datetime.now(UTC) - timedelta(hours=4)
    history: list[tuple[int, str, dict[str, Any]]] = [
        (0, "vehicle.created", {"vehicle_id": van, "vehicle_type": "van", "status": "available"}),
        (3600, "vehicle.status_changed", {"vehicle_id": van, "to": "in_transit"}),
        (3660, "route.created", {"route_id": draft, "vehicle_id": van}),
        (7200, "route.cancelled", {"route_id": draft, "was_on_road": False}),
    ]
    await store_events(
        owner_conn,
        [
            Event(topic, workspace, None, data, timestamp=base + timedelta(seconds=offset))
            for offset, topic, data in history
        ],
    )
    await apply_events(db=app.state.db, events=await stored_events(owner_conn, admin.workspace_id))

    fleet = await report(client, analyst, "fleet")
    as_of = datetime.fromisoformat(fleet["meta"]["as_of"])
    totals = fleet["data"]["totals"]
    assert totals["available_s"] == 3600
    on_road = (as_of - (base + timedelta(hours=1))).total_seconds()
    assert totals["in_transit_s"] == pytest.approx(on_road, abs=1e-3)
