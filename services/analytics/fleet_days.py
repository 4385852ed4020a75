"""The fleet report's per-day read models, kept from the per-vehicle rows the fold writes.

`analytics_fleet_days`: one row per UTC day, the sums of every vehicle's row of the day in
`analytics_vehicle_status_days` (closed status time) and `analytics_vehicle_days` (GPS
distance), how many vehicles have either, how many of those were in transit or moved, and
how many moved. `analytics_vehicle_spans`: one row per vehicle the models know, the days
it has status time, time in transit and distance (date multiranges, a few ranges each) and
its newest status fact; unlike `analytics_vehicle_state`, not rewritten by every GPS batch.
The fleet report by day or week reads a row a day and a row a vehicle instead of a row per
vehicle and day.

The consumer's fold refolds the days and vehicles it changed (`Changes`); the rebuild
folds the per-vehicle rows only and fills these tables once at its end (`fill`), as
migration 0028 does: the same rows, without rewriting them for every batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass
class Changes:
    """What one fold changed: (vehicle, day) pairs of per-vehicle status rows, the vehicles
    that got a status fact, those written to `analytics_vehicle_state` (each has a row in
    `analytics_vehicle_spans` too), and the days vehicles drove on."""

    days: set[tuple[UUID, date]] = field(default_factory=set)
    facts: set[UUID] = field(default_factory=set)
    vehicles: set[UUID] = field(default_factory=set)
    # Days a vehicle drove on (more GPS distance): its status time is as it was.
    moved: set[tuple[UUID, date]] = field(default_factory=set)

    def add_days(self, vehicle_id: UUID, days: list[date]) -> None:
        self.days.update((vehicle_id, day) for day in days)


# Each vehicle-day's status time and distance as one row; `{scope}` picks the rows.
_VEHICLE_DAYS = """
    vehicle_rows AS (
        SELECT t.workspace_id, t.vehicle_id, t.day, t.in_transit_us, t.available_us,
            t.offline_us, t.maintenance_us, 0::float8 AS distance_m, true AS has_status
        FROM analytics_vehicle_status_days t {scope}
        UNION ALL
        SELECT t.workspace_id, t.vehicle_id, t.day, 0, 0, 0, 0, t.distance_m, false
        FROM analytics_vehicle_days t {scope}),
    per AS (
        SELECT workspace_id, vehicle_id, day, sum(in_transit_us) AS in_transit_us,
            sum(available_us) AS available_us, sum(offline_us) AS offline_us,
            sum(maintenance_us) AS maintenance_us, sum(distance_m) AS distance_m,
            bool_or(has_status) AS has_status
        FROM vehicle_rows GROUP BY workspace_id, vehicle_id, day)"""
# A day of the fleet from its vehicles' rows (distance summed in vehicle order: the same
# floats in the same order give the same sum however the rows were folded).
_FLEET_DAY_FIGURES = """
    SELECT workspace_id, day, sum(in_transit_us) AS in_transit_us,
        sum(available_us) AS available_us, sum(offline_us) AS offline_us,
        sum(maintenance_us) AS maintenance_us,
        sum(distance_m ORDER BY vehicle_id) AS distance_m, count(*) AS vehicles,
        count(*) FILTER (WHERE in_transit_us > 0 OR distance_m > 0) AS active_vehicles,
        count(*) FILTER (WHERE distance_m > 0) AS moved_vehicles
    FROM per GROUP BY workspace_id, day"""
_INSERT_FLEET_DAYS = """
    INSERT INTO analytics_fleet_days (workspace_id, day, in_transit_us, available_us,
        offline_us, maintenance_us, distance_m, vehicles, active_vehicles, moved_vehicles)"""
_CHANGED = """
    changed AS (
        SELECT DISTINCT v, d FROM unnest(CAST(:ids AS uuid[]), CAST(:days AS date[])) AS c(v, d)),
"""

_REFOLD_DAYS = text(
    "WITH"  # noqa: S608 (constant fragments)
    + _CHANGED
    + _VEHICLE_DAYS.format(
        scope="JOIN (SELECT DISTINCT d FROM changed) AS c ON t.workspace_id = :ws AND t.day = c.d"
    )
    + ", fresh AS ("
    + _FLEET_DAY_FIGURES
    + """),
    gone AS (
        DELETE FROM analytics_fleet_days f
        WHERE f.workspace_id = :ws AND f.day IN (SELECT d FROM changed)
          AND f.day NOT IN (SELECT day FROM fresh))"""
    + _INSERT_FLEET_DAYS
    + """
    SELECT * FROM fresh
    ON CONFLICT (workspace_id, day) DO UPDATE
    SET in_transit_us = EXCLUDED.in_transit_us, available_us = EXCLUDED.available_us,
        offline_us = EXCLUDED.offline_us, maintenance_us = EXCLUDED.maintenance_us,
        distance_m = EXCLUDED.distance_m, vehicles = EXCLUDED.vehicles,
        active_vehicles = EXCLUDED.active_vehicles, moved_vehicles = EXCLUDED.moved_vehicles
    """
)
# Each changed vehicle: its changed days taken out of its sets and those that still have
# status time, time in transit or distance put back; its newest fact looked up again. A row
# that comes out the same (another GPS batch on a day it already moved) is not rewritten.
_REFOLD_SPANS = text(
    "WITH"  # noqa: S608 (constant fragments)
    + _CHANGED
    + _VEHICLE_DAYS.format(
        scope="JOIN changed c ON t.workspace_id = :ws AND t.vehicle_id = c.v AND t.day = c.d"
    )
    + """,
    delta AS (
        SELECT c.v, range_agg(daterange(c.d, c.d, '[]')) AS changed,
            range_agg(daterange(c.d, c.d, '[]')) FILTER (WHERE p.has_status) AS status_days,
            range_agg(daterange(c.d, c.d, '[]')) FILTER (WHERE p.in_transit_us > 0)
                AS transit_days,
            range_agg(daterange(c.d, c.d, '[]')) FILTER (WHERE p.distance_m > 0) AS moved_days
        FROM changed c LEFT JOIN per p ON p.vehicle_id = c.v AND p.day = c.d
        GROUP BY c.v),
    last AS (
        SELECT v, l.status, l.at
        FROM unnest(CAST(:fact_ids AS uuid[])) AS v CROSS JOIN LATERAL (
            SELECT f.status, f.at FROM analytics_vehicle_status f
            WHERE f.workspace_id = :ws AND f.vehicle_id = v ORDER BY f.at DESC LIMIT 1) AS l),
    next AS (
        SELECT coalesce(delta.v, last.v) AS v, x.vehicle_id IS NOT NULL AS known,
            coalesce(x.status_days, '{}') - coalesce(delta.changed, '{}')
                + coalesce(delta.status_days, '{}') AS status_days,
            coalesce(x.transit_days, '{}') - coalesce(delta.changed, '{}')
                + coalesce(delta.transit_days, '{}') AS transit_days,
            coalesce(x.moved_days, '{}') - coalesce(delta.changed, '{}')
                + coalesce(delta.moved_days, '{}') AS moved_days,
            coalesce(last.status, x.last_status) AS last_status,
            coalesce(last.at, x.last_status_at) AS last_status_at
        FROM delta FULL JOIN last ON last.v = delta.v
        LEFT JOIN analytics_vehicle_spans x
            ON x.workspace_id = :ws AND x.vehicle_id = coalesce(delta.v, last.v)),
    kept AS (
        UPDATE analytics_vehicle_spans x SET status_days = next.status_days,
            transit_days = next.transit_days, moved_days = next.moved_days,
            last_status = next.last_status, last_status_at = next.last_status_at
        FROM next WHERE x.workspace_id = :ws AND x.vehicle_id = next.v
            AND (x.status_days, x.transit_days, x.moved_days, x.last_status, x.last_status_at)
                IS DISTINCT FROM (next.status_days, next.transit_days, next.moved_days,
                                  next.last_status, next.last_status_at))
    INSERT INTO analytics_vehicle_spans (workspace_id, vehicle_id, status_days, transit_days,
        moved_days, last_status, last_status_at)
    SELECT :ws, v, status_days, transit_days, moved_days, last_status, last_status_at
    FROM next WHERE NOT known
    """
)


# Every vehicle the models know has a row, whether or not it has days or facts yet.
_KNOWN_VEHICLES = text(
    "INSERT INTO analytics_vehicle_spans (workspace_id, vehicle_id)"
    " SELECT :ws, v FROM unnest(CAST(:vehicle_ids AS uuid[])) AS v ON CONFLICT DO NOTHING"
)


# A day a vehicle drove on is a day it moved (GPS distance only grows): the sets of the
# vehicles that drove add it, none of their other days changes.
_MOVED = text(
    """
    UPDATE analytics_vehicle_spans x SET moved_days = x.moved_days + m.days
    FROM (
        SELECT v, range_agg(daterange(d, d, '[]')) AS days
        FROM unnest(CAST(:moved_ids AS uuid[]), CAST(:moved_days AS date[])) AS c(v, d)
        GROUP BY v) AS m
    WHERE x.workspace_id = :ws AND x.vehicle_id = m.v AND NOT x.moved_days @> m.days
    """
)


async def refold(session: AsyncSession, workspace_id: UUID, changes: Changes) -> None:
    """Bring both tables up to date with the per-vehicle rows and facts in `changes`."""
    pairs = sorted(changes.days)
    moved = sorted(changes.moved - changes.days)
    days = sorted({d for _, d in (*pairs, *moved)})
    refolded = changes.facts | {v for v, _ in pairs}
    params = {
        "ws": workspace_id,
        "ids": [v for v, _ in pairs],
        "days": [d for _, d in pairs],
        "fact_ids": sorted(changes.facts),
        # Those with changed status days or facts get their row from _REFOLD_SPANS.
        "vehicle_ids": sorted((changes.vehicles | {v for v, _ in moved}) - refolded),
        "moved_ids": [v for v, _ in moved],
        "moved_days": [d for _, d in moved],
    }
    if params["vehicle_ids"]:
        await session.execute(_KNOWN_VEHICLES, params)
    if days:
        await session.execute(_REFOLD_DAYS, {**params, "ids": [], "days": days})
    if pairs or changes.facts:
        await session.execute(_REFOLD_SPANS, params)
    if moved:
        await session.execute(_MOVED, params)


# Every day and vehicle at once, from the rows of the caller's workspace.
_FILL_DAYS = text("WITH" + _VEHICLE_DAYS.format(scope="") + _INSERT_FLEET_DAYS + _FLEET_DAY_FIGURES)
_FILL_SPANS = text(
    "WITH"  # noqa: S608 (constant fragments)
    + _VEHICLE_DAYS.format(scope="")
    + """,
    sets AS (
        SELECT workspace_id, vehicle_id,
            range_agg(daterange(day, day, '[]')) FILTER (WHERE has_status) AS status_days,
            range_agg(daterange(day, day, '[]')) FILTER (WHERE in_transit_us > 0)
                AS transit_days,
            range_agg(daterange(day, day, '[]')) FILTER (WHERE distance_m > 0) AS moved_days
        FROM per GROUP BY workspace_id, vehicle_id),
    last AS (
        SELECT DISTINCT ON (workspace_id, vehicle_id) workspace_id, vehicle_id, status, at
        FROM analytics_vehicle_status ORDER BY workspace_id, vehicle_id, at DESC)
    INSERT INTO analytics_vehicle_spans (workspace_id, vehicle_id, status_days, transit_days,
        moved_days, last_status, last_status_at)
    SELECT workspace_id, vehicle_id, coalesce(status_days, '{}'),
        coalesce(transit_days, '{}'), coalesce(moved_days, '{}'), status, at
    FROM analytics_vehicle_state LEFT JOIN sets USING (workspace_id, vehicle_id)
        LEFT JOIN last USING (workspace_id, vehicle_id)
    """
)


async def fill(session: AsyncSession) -> None:
    """Fill both (emptied) tables from every per-vehicle row and fact the session sees."""
    await session.execute(_FILL_DAYS)
    await session.execute(_FILL_SPANS)
