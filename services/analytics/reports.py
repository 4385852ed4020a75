"""The four analytics reports (routes, fleet, efficiency, quantum), read only from the read
models that the `analytics` consumer folds (never from the live tables).

Each report has `totals` over the range and `groups` by day, week or one of its own
dimensions; `as_of` is the time of the newest event folded into the workspace's models."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from models.analytics_inputs import ReportQuery

DEFAULT_DAYS = 30
MAX_DAYS = 366
WEEK = "date_trunc('week', day)::date"
# The incidents report's one group when grouped by vehicle (it is not).
TOTAL = "NULL::text"


@dataclass(frozen=True, slots=True)
class ReportRange:
    start: datetime
    end: datetime
    group_by: str

    @property
    def params(self) -> dict[str, Any]:
        """Day-keyed models count the days that overlap [start, end); status intervals are
        clipped to the instants: the whole days inside the range (`first_full_day` to
        `last_full_day`, none when the first is after the last) and the partial days at
        its ends (`edge_starts` to `edge_ends`)."""
        last = (self.end - timedelta(microseconds=1)).date()
        first_full = _midnight(self.start)
        if first_full < self.start:
            first_full += timedelta(days=1)
        full_end = _midnight(self.end)
        if first_full >= full_end:  # no whole day inside
            edges = [(self.start, self.end)]
        else:
            edges = [(self.start, first_full)] if self.start < first_full else []
            edges += [(full_end, self.end)] if full_end < self.end else []
        return {
            "first_day": self.start.date(),
            "last_day": last,
            "start_at": self.start,
            "end_at": self.end,
            "first_full_day": first_full.date(),
            "last_full_day": (full_end - timedelta(days=1)).date(),
            "edge_starts": [s for s, _ in edges],
            "edge_ends": [e for _, e in edges],
        }


def _midnight(at: datetime) -> datetime:
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class Report:
    name: str
    range: ReportRange
    as_of: datetime | None
    totals: dict[str, Any]
    groups: list[dict[str, Any]]

    def as_json(self) -> dict[str, Any]:
        return {
            "report": self.name,
            "from": self.range.start.isoformat(),
            "to": self.range.end.isoformat(),
            "group_by": self.range.group_by,
            "totals": self.totals,
            "groups": self.groups,
        }


def report_range(
    query: ReportQuery,
    dimensions: Mapping[str, str],
    *,
    now: datetime | None = None,
    field_prefix: str = "",
) -> ReportRange:
    """Validate `from`/`to`/`group_by`: `from` before `to`, at most MAX_DAYS apart, and a
    grouping the report knows (422 naming the field otherwise)."""
    end = _utc(query.to or now or datetime.now(UTC))
    start = _utc(query.from_) if query.from_ else end - timedelta(days=DEFAULT_DAYS)
    if start > end:
        raise ValidationFailed.field(field_prefix + "from", "must not be after `to`")
    if end - start > timedelta(days=MAX_DAYS):
        raise ValidationFailed.field(field_prefix + "to", f"at most {MAX_DAYS} days after `from`")
    if query.group_by not in dimensions:
        raise ValidationFailed.field(
            field_prefix + "group_by", f"one of {', '.join(sorted(dimensions))}"
        )
    return ReportRange(start, end, query.group_by)


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# Group keys of each report: the SQL expression for each `group_by`.
ROUTE_KEYS = {"day": "day", "week": WEEK, "vehicle": "vehicle_id::text"}
FLEET_KEYS = {
    "day": "day",
    "week": WEEK,
    "vehicle": "vehicle_id::text",
    "vehicle_type": "vehicle_type",
}
INCIDENT_KEYS = {
    "day": "i.day",
    "week": "date_trunc('week', i.day)::date",
    "vehicle": TOTAL,
    "vehicle_type": "v.vehicle_type",
}
EFFICIENCY_KEYS = {"day": "day", "week": WEEK, "solver": "solver"}
QUANTUM_KEYS = {"day": "day", "week": WEEK, "mode": "mode", "backend": "backend"}
DIMENSIONS = {
    "routes": ROUTE_KEYS,
    "fleet": FLEET_KEYS,
    "efficiency": EFFICIENCY_KEYS,
    "quantum": QUANTUM_KEYS,
}

_AS_OF = text("SELECT max(last_event_at) FROM event_topic_counts")


async def as_of(session: AsyncSession) -> datetime | None:
    """The time of the newest event folded into this workspace's read models."""
    return (await session.execute(_AS_OF)).scalar()


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    return value


def _ratio(part: float | None, whole: float | None) -> float | None:
    return round(part / whole, 4) if part is not None and whole else None


async def _grouped(
    session: AsyncSession,
    sql: str,
    key: str,
    window: ReportRange,
    extra: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of `sql` over the whole range and by `key`, from one statement: its
    grouping sets tell them apart by the `total` column."""
    params = {**window.params, **(extra or {})}
    result = await session.execute(text(sql.format(key=key)), params)
    totals: list[dict[str, Any]] = []
    groups: list[dict[str, Any]] = []
    for row in result.mappings().all():
        figures = {k: _round(v) for k, v in row.items() if k != "total"}
        (totals if row["total"] else groups).append(figures)
    return totals, groups


async def _by_key_and_total(
    session: AsyncSession,
    sql: str,
    keys: Mapping[str, str],
    window: ReportRange,
    extra: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    totals, groups = await _grouped(session, sql, keys[window.group_by], window, extra)
    return (totals[0] if totals else {}), groups


def _sorted(groups: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(groups, key=lambda g: (g["key"] is None, str(g["key"])))


# Routes ---------------------------------------------------------------------------------

_ROUTES = """
    SELECT {key} AS key, GROUPING({key}) = 1 AS total, status, count(*) AS routes,
        sum(planned_distance_m) AS planned_distance_m, sum(actual_distance_m) AS actual_distance_m,
        sum(planned_duration_s) AS planned_duration_s, sum(actual_duration_s) AS actual_duration_s,
        coalesce(sum(stops_served), 0) AS stops_served,
        coalesce(sum(stops_on_time), 0) AS stops_on_time,
        sum(deviations) AS deviations
    FROM analytics_routes WHERE day BETWEEN :first_day AND :last_day
    GROUP BY GROUPING SETS (({key}, status), (status))
"""


def _route_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One group's figures from its rows per status; planned against actual on completed
    routes, deviations per 100 km of GPS distance driven on any route."""
    done = [r for r in rows if r["status"] == "completed"]
    driven = sum(r["actual_distance_m"] or 0 for r in rows)
    deviations = sum(r["deviations"] or 0 for r in rows)
    served = sum(r["stops_served"] for r in rows)
    on_time = sum(r["stops_on_time"] for r in rows)

    def total(name: str) -> float:
        return round(sum(r[name] or 0 for r in done), 3)

    return {
        "routes": sum(r["routes"] for r in rows),
        "by_status": {r["status"]: r["routes"] for r in sorted(rows, key=lambda r: r["status"])},
        "completed": {
            "routes": sum(r["routes"] for r in done),
            "planned_distance_m": total("planned_distance_m"),
            "actual_distance_m": total("actual_distance_m"),
            "planned_duration_s": total("planned_duration_s"),
            "actual_duration_s": total("actual_duration_s"),
        },
        "stops_served": served,
        "stops_on_time": on_time,
        "on_time_rate": _ratio(on_time, served),
        "distance_driven_m": round(driven, 3),
        "deviations": deviations,
        "deviations_per_100km": _ratio(deviations * 100_000, driven),
    }


async def routes_report(
    *, session: AsyncSession, window: ReportRange, as_of_time: datetime | None
) -> Report:
    """Routes by status; planned against actual distance and duration; on-time stop rate;
    deviations per 100 km."""
    totals, rows = await _grouped(session, _ROUTES, ROUTE_KEYS[window.group_by], window)
    keyed: dict[Any, list[dict[str, Any]]] = {}
    for row in rows:
        keyed.setdefault(row["key"], []).append(row)
    groups = [{"key": key, **_route_figures(group)} for key, group in keyed.items()]
    return Report("routes", window, as_of_time, _route_figures(totals), _sorted(groups))


# Fleet ----------------------------------------------------------------------------------

# Status time: whole days from the per-day sums the fold keeps (closed intervals); the
# range's partial first and last days cut from the facts (those inside them, and each
# vehicle's last before); each vehicle's open interval up to `as_of`. Each vehicle's newest
# fact is kept with its day sets (`known`): a fact's next one is the next in its edge, else,
# unless it is its vehicle's newest, one at or after the edge's end.
_PIECES = """
    edges AS (
        SELECT * FROM unnest(CAST(:edge_starts AS timestamptz[]),
                             CAST(:edge_ends AS timestamptz[])) AS w(ws, we)),
    known AS MATERIALIZED (
        SELECT vehicle_id, last_status AS status, last_status_at AS at
        FROM analytics_vehicle_spans WHERE last_status_at IS NOT NULL),
    facts AS (
        SELECT f.vehicle_id, f.status, f.at, edges.ws, edges.we
        FROM edges JOIN analytics_vehicle_status f ON f.at >= edges.ws AND f.at < edges.we
        UNION ALL
        SELECT k.vehicle_id, p.status, p.at, edges.ws, edges.we
        FROM edges CROSS JOIN known k CROSS JOIN LATERAL (
            SELECT f.status, f.at FROM analytics_vehicle_status f
            WHERE f.vehicle_id = k.vehicle_id AND f.at < edges.ws
            ORDER BY f.at DESC LIMIT 1) AS p),
    closed AS (
        SELECT facts.vehicle_id, facts.status, facts.at, facts.ws, facts.we,
            coalesce(lead(facts.at) OVER (PARTITION BY facts.vehicle_id, facts.ws
                                          ORDER BY facts.at),
                     CASE WHEN facts.at < k.at THEN facts.we END) AS next_at
        FROM facts JOIN known k USING (vehicle_id)),
    intervals AS (
        SELECT vehicle_id, status, greatest(at, ws) AT TIME ZONE 'UTC' AS s,
            least(next_at, we) AT TIME ZONE 'UTC' AS e
        FROM closed WHERE next_at > ws
        UNION ALL
        -- Each vehicle's current status, open since its last fact, counts up to the newest
        -- event folded in (`as_of`, so that a rebuild reads the same): a van on the road
        -- since this morning is in transit now, not idle until its next change.
        SELECT vehicle_id, status,
            greatest(at, CAST(:start_at AS timestamptz)) AT TIME ZONE 'UTC',
            least(CAST(:open_until AS timestamptz), CAST(:end_at AS timestamptz))
                AT TIME ZONE 'UTC'
        FROM known
        WHERE status IN ('in_transit', 'available', 'offline', 'maintenance')
            AND at < least(CAST(:open_until AS timestamptz), CAST(:end_at AS timestamptz))),
    pieces AS (
        SELECT vehicle_id, status, d::date AS day,
            extract(epoch FROM least(e, d + interval '1 day') - greatest(s, d))::float AS secs
        FROM intervals CROSS JOIN LATERAL
            generate_series(date_trunc('day', s), e, interval '1 day') AS d),
    piece_days AS (
        SELECT vehicle_id, day,
            coalesce(sum(secs) FILTER (WHERE status = 'in_transit'), 0) AS in_transit_s,
            coalesce(sum(secs) FILTER (WHERE status = 'available'), 0) AS available_s,
            coalesce(sum(secs) FILTER (WHERE status = 'offline'), 0) AS offline_s,
            coalesce(sum(secs) FILTER (WHERE status = 'maintenance'), 0) AS maintenance_s,
            0::float AS distance_m
        FROM pieces WHERE secs > 0 GROUP BY 1, 2)"""
# By vehicle or vehicle type: every vehicle's days, summed per group and vehicle.
_FLEET_BY_VEHICLE = (
    "WITH"  # noqa: S608 (constant fragments)
    + _PIECES
    + """,
    days AS (
        SELECT * FROM piece_days
        UNION ALL
        SELECT vehicle_id, day, in_transit_us / 1e6::float, available_us / 1e6::float,
            offline_us / 1e6::float, maintenance_us / 1e6::float, 0
        FROM analytics_vehicle_status_days WHERE day BETWEEN :first_full_day AND :last_full_day
        UNION ALL
        SELECT vehicle_id, day, 0, 0, 0, 0, distance_m FROM analytics_vehicle_days
        WHERE day BETWEEN :first_day AND :last_day),
    per AS (
        SELECT {key} AS key, GROUPING({key}) = 1 AS total, vehicle_id,
            sum(in_transit_s) AS in_transit_s,
            sum(available_s) AS available_s, sum(offline_s) AS offline_s,
            sum(maintenance_s) AS maintenance_s, sum(distance_m) AS distance_m
        FROM days LEFT JOIN analytics_vehicle_state v USING (vehicle_id)
        GROUP BY GROUPING SETS (({key}, vehicle_id), (vehicle_id)))
    SELECT key, total, count(*) AS vehicles,
        count(*) FILTER (WHERE in_transit_s = 0 AND distance_m = 0) AS idle_vehicles,
        sum(in_transit_s) AS in_transit_s, sum(available_s) AS available_s,
        sum(offline_s) AS offline_s, sum(maintenance_s) AS maintenance_s,
        sum(distance_m) AS distance_m
    FROM per GROUP BY total, key
"""
)
# By day or week: the sums from the fleet's days (status time of the whole days, distance
# of every day) and the pieces. A vehicle counts in a group when it has status time on one
# of its whole days, distance on one of its days or a piece in it; it is idle there when
# none of those is time in transit or distance. A day takes its counts from the fleet's day
# (on a partial day, the vehicles that moved) plus the vehicles its pieces add; a week and
# the whole range check each vehicle's day sets.
_FLEET_BY_TIME = (
    "WITH"  # noqa: S608 (constant fragments)
    + _PIECES
    + """,
    fleet_days AS (
        SELECT f.*, f.day BETWEEN :first_full_day AND :last_full_day AS whole
        FROM analytics_fleet_days f WHERE f.day BETWEEN :first_day AND :last_day),
    sums AS (
        SELECT {key} AS key, GROUPING({key}) = 1 AS total,
            sum(in_transit_s) AS in_transit_s, sum(available_s) AS available_s,
            sum(offline_s) AS offline_s, sum(maintenance_s) AS maintenance_s,
            sum(distance_m) AS distance_m
        FROM (
            SELECT day, in_transit_s, available_s, offline_s, maintenance_s, distance_m
            FROM piece_days
            UNION ALL
            SELECT day, CASE WHEN whole THEN in_transit_us / 1e6::float ELSE 0 END,
                CASE WHEN whole THEN available_us / 1e6::float ELSE 0 END,
                CASE WHEN whole THEN offline_us / 1e6::float ELSE 0 END,
                CASE WHEN whole THEN maintenance_us / 1e6::float ELSE 0 END, distance_m
            FROM fleet_days) AS days
        GROUP BY GROUPING SETS (({key}), ())),
    added AS (
        SELECT p.day, count(*) FILTER (WHERE NOT coalesce(
                x.moved_days @> p.day OR (w.whole AND x.status_days @> p.day), false))
                AS vehicles,
            count(*) FILTER (WHERE p.in_transit_s > 0 AND NOT coalesce(
                x.moved_days @> p.day OR (w.whole AND x.transit_days @> p.day), false))
                AS active_vehicles
        FROM piece_days p LEFT JOIN analytics_vehicle_spans x USING (vehicle_id)
        CROSS JOIN LATERAL (
            SELECT p.day BETWEEN :first_full_day AND :last_full_day AS whole) AS w
        WHERE NOT CAST(:by_week AS boolean)
        GROUP BY p.day),
    by_day AS (
        SELECT coalesce(f.day, a.day) AS key,
            coalesce(CASE WHEN f.whole THEN f.vehicles ELSE f.moved_vehicles END, 0)
                + coalesce(a.vehicles, 0) AS vehicles,
            coalesce(CASE WHEN f.whole THEN f.active_vehicles ELSE f.moved_vehicles END, 0)
                + coalesce(a.active_vehicles, 0) AS active_vehicles
        FROM fleet_days f FULL JOIN added a ON a.day = f.day
        WHERE NOT CAST(:by_week AS boolean)),
    counted AS (
        SELECT {key} AS key, false AS total, min(day) AS lo, max(day) AS hi
        FROM (SELECT d::date AS day FROM generate_series(CAST(:first_day AS date),
                CAST(:last_day AS date), interval '1 day') AS d) AS calendar
        WHERE CAST(:by_week AS boolean)
        GROUP BY 1
        UNION ALL
        SELECT NULL, true, CAST(:first_day AS date), CAST(:last_day AS date)),
    piece_sets AS (
        SELECT vehicle_id, range_agg(daterange(day, day, '[]')) AS piece_days,
            range_agg(daterange(day, day, '[]')) FILTER (WHERE in_transit_s > 0)
                AS piece_transit_days
        FROM piece_days GROUP BY vehicle_id),
    vehicles AS (
        SELECT coalesce(x.status_days, '{{}}') AS status_days,
            coalesce(x.transit_days, '{{}}') AS transit_days,
            coalesce(x.moved_days, '{{}}') AS moved_days,
            coalesce(p.piece_days, '{{}}') AS piece_days,
            coalesce(p.piece_transit_days, '{{}}') AS piece_transit_days
        FROM analytics_vehicle_spans x FULL JOIN piece_sets p USING (vehicle_id)),
    members AS (
        SELECT c.key, c.total,
            v.status_days && g.whole OR v.moved_days && g.span OR v.piece_days && g.span
                AS seen,
            v.transit_days && g.whole OR v.moved_days && g.span
                OR v.piece_transit_days && g.span AS active
        FROM counted c CROSS JOIN LATERAL (
            SELECT daterange(c.lo, c.hi, '[]') AS span,
                CASE WHEN greatest(c.lo, :first_full_day) <= least(c.hi, :last_full_day)
                     THEN daterange(greatest(c.lo, :first_full_day),
                                    least(c.hi, :last_full_day), '[]')
                     ELSE 'empty' END AS whole) AS g
        CROSS JOIN vehicles v),
    counts AS (
        SELECT key, false AS total, vehicles, vehicles - active_vehicles AS idle_vehicles
        FROM by_day
        UNION ALL
        SELECT key, total, count(*) FILTER (WHERE seen) AS vehicles,
            count(*) FILTER (WHERE seen AND NOT active) AS idle_vehicles
        FROM members GROUP BY key, total)
    SELECT s.key, s.total, c.vehicles, c.idle_vehicles, s.in_transit_s, s.available_s,
        s.offline_s, s.maintenance_s, s.distance_m
    FROM sums s JOIN counts c ON c.total = s.total AND c.key IS NOT DISTINCT FROM s.key
    WHERE c.vehicles > 0
"""
)
# The incidents by key and in all, and (its own row, `known` set) how many vehicles the
# models know that were not deleted: one statement.
_INCIDENTS = """
    SELECT {key} AS key, GROUPING({key}) = 1 AS total, count(*) AS incidents_responded,
        percentile_cont(0.5) WITHIN GROUP (ORDER BY response_time_s) AS response_p50_s,
        percentile_cont(0.9) WITHIN GROUP (ORDER BY response_time_s) AS response_p90_s,
        avg(travel_time_s) AS travel_avg_s, NULL::bigint AS known
    FROM analytics_incidents i LEFT JOIN analytics_vehicle_state v USING (vehicle_id)
    WHERE i.day BETWEEN :first_day AND :last_day
    GROUP BY GROUPING SETS (({key}), ()) HAVING count(*) > 0
    UNION ALL
    SELECT NULL, false, NULL, NULL, NULL, NULL, count(*) FROM analytics_vehicle_spans v
    WHERE NOT EXISTS (SELECT 1 FROM analytics_vehicle_status s
                      WHERE s.vehicle_id = v.vehicle_id AND s.status = 'deleted')
"""
_NO_INCIDENTS = {
    "incidents_responded": 0,
    "response_p50_s": None,
    "response_p90_s": None,
    "travel_avg_s": None,
}
_NO_VEHICLES = {
    "vehicles": 0,
    "idle_vehicles": 0,
    "in_transit_s": 0.0,
    "available_s": 0.0,
    "offline_s": 0.0,
    "maintenance_s": 0.0,
    "distance_m": 0.0,
}


def _fleet_figures(vehicles: dict[str, Any] | None, incidents: dict[str, Any] | None) -> dict:
    figures = {**_NO_VEHICLES, **(vehicles or {}), **_NO_INCIDENTS, **(incidents or {})}
    figures.pop("key", None)
    tracked = sum(
        figures[k] or 0 for k in ("in_transit_s", "available_s", "offline_s", "maintenance_s")
    )
    figures["utilization"] = _ratio(figures["in_transit_s"], tracked)
    return figures


async def fleet_report(
    *, session: AsyncSession, window: ReportRange, as_of_time: datetime | None
) -> Report:
    """Time in transit, available and offline per vehicle; GPS distance; idle vehicles;
    incidents responded to and their response times (p50, p90)."""
    # Nothing folded yet: no status is open.
    extra = {"open_until": as_of_time or window.start, "by_week": window.group_by == "week"}
    by_time = window.group_by in ("day", "week")
    vehicle_totals, vehicle_groups = await _by_key_and_total(
        session, _FLEET_BY_TIME if by_time else _FLEET_BY_VEHICLE, FLEET_KEYS, window, extra
    )
    incident_totals, incident_rows = await _by_key_and_total(
        session, _INCIDENTS, INCIDENT_KEYS, window
    )
    incident_totals.pop("known", None)
    known, incident_groups = 0, []
    for row in incident_rows:
        count = row.pop("known")
        if count is None:
            incident_groups.append(row)
        else:
            known = count
    by_vehicles = {g["key"]: g for g in vehicle_groups}
    by_incidents = {g["key"]: g for g in incident_groups if window.group_by != "vehicle"}
    groups = [
        {"key": key, **_fleet_figures(by_vehicles.get(key), by_incidents.get(key))}
        for key in {*by_vehicles, *by_incidents}
    ]
    totals = _fleet_figures(vehicle_totals, incident_totals or None)
    # Over the whole range every vehicle the models know counts: one that never changed
    # status nor moved in it has no rows at all, and is the idlest of all.
    active = totals["vehicles"] - totals["idle_vehicles"]
    totals["vehicles_known"], totals["idle_vehicles"] = known, max(0, known - active)
    return Report("fleet", window, as_of_time, totals, _sorted(groups))


# Efficiency -----------------------------------------------------------------------------

_EFFICIENCY = """
    SELECT {key} AS key, GROUPING({key}) = 1 AS total, count(*) AS optimizations,
        coalesce(sum(distance_m), 0) AS distance_m,
        sum(submitted_distance_m) AS submitted_distance_m,
        sum(submitted_distance_m - distance_m) AS saved_vs_submitted_m,
        count(previous_distance_m) AS replans,
        sum(previous_distance_m - distance_m) AS saved_vs_previous_m,
        sum(duration_s) AS planned_duration_s,
        sum(submitted_duration_s) FILTER (WHERE duration_s IS NOT NULL) AS submitted_duration_s,
        sum(submitted_duration_s - duration_s) AS saved_vs_submitted_s,
        sum(previous_duration_s - duration_s) AS saved_vs_previous_s,
        avg(optimization_score) AS optimization_score_avg,
        avg(solve_time_ms) AS solve_time_avg_ms,
        max(solve_time_ms) AS solve_time_max_ms,
        count(*) FILTER (WHERE cached) AS cache_hits
    FROM analytics_optimizations WHERE day BETWEEN :first_day AND :last_day
    GROUP BY GROUPING SETS (({key}), ()) HAVING count(*) > 0
"""


def _efficiency_figures(row: dict[str, Any]) -> dict[str, Any]:
    figures = {k: v for k, v in row.items() if k != "key"}
    figures["saved_vs_submitted_pct"] = _ratio(
        100 * (row.get("saved_vs_submitted_m") or 0), row.get("submitted_distance_m")
    )
    figures["saved_vs_submitted_time_pct"] = _ratio(
        100 * (row.get("saved_vs_submitted_s") or 0), row.get("submitted_duration_s")
    )
    figures["cache_hit_rate"] = _ratio(row.get("cache_hits"), row.get("optimizations"))
    return figures


async def efficiency_report(
    *, session: AsyncSession, window: ReportRange, as_of_time: datetime | None
) -> Report:
    """What optimization saved: distance and time against the submitted order and against
    the previous plan (its whole minutes), optimization score, solver time and cache hit
    rate."""
    totals, groups = await _by_key_and_total(session, _EFFICIENCY, EFFICIENCY_KEYS, window)
    empty = {"optimizations": 0, "distance_m": 0.0, "replans": 0, "cache_hits": 0}
    return Report(
        "efficiency",
        window,
        as_of_time,
        _efficiency_figures(totals or empty),
        _sorted([{"key": g["key"], **_efficiency_figures(g)} for g in groups]),
    )


# Quantum --------------------------------------------------------------------------------

_QUANTUM = """
    SELECT {key} AS key, GROUPING({key}) = 1 AS total, count(*) AS jobs,
        count(*) FILTER (WHERE status = 'completed') AS completed,
        count(*) FILTER (WHERE status = 'failed') AS failed,
        count(*) FILTER (WHERE outcome = 'improved') AS improved,
        count(*) FILTER (WHERE outcome = 'matched') AS matched,
        count(*) FILTER (WHERE outcome = 'lost') AS lost,
        count(*) FILTER (WHERE fell_back) AS fell_back,
        count(*) FILTER (WHERE timed_out) AS timed_out,
        coalesce(sum(circuits), 0) AS circuits,
        max(qubits) AS qubits_max, avg(qubits) AS qubits_avg,
        max(depth) AS depth_max, avg(depth) AS depth_avg,
        min(energy) AS energy_min,
        count(gap_to_exact) AS gaps_measured,
        count(*) FILTER (WHERE gap_to_exact = 0) AS exact_optimum_found,
        avg(gap_to_exact) AS gap_to_exact_avg, max(gap_to_exact) AS gap_to_exact_max,
        sum(classical_cost - final_cost) FILTER (WHERE status = 'completed') AS cost_saved,
        coalesce(sum(time_ms), 0) AS time_ms
    FROM analytics_quantum_jobs WHERE day BETWEEN :first_day AND :last_day
    GROUP BY GROUPING SETS (({key}), ()) HAVING count(*) > 0
"""


def _quantum_figures(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "key"}


async def quantum_report(
    *, session: AsyncSession, window: ReportRange, as_of_time: datetime | None
) -> Report:
    """Quantum and hybrid jobs against the classical answer on the same input: how often
    QAOA improved, matched or lost, fell back or timed out; circuit sizes, energies, gaps to
    the exact optimum and time spent. Counts and measured gaps only."""
    totals, groups = await _by_key_and_total(session, _QUANTUM, QUANTUM_KEYS, window)
    empty = {"jobs": 0, "completed": 0, "improved": 0, "matched": 0, "lost": 0}
    return Report(
        "quantum",
        window,
        as_of_time,
        _quantum_figures(totals or empty),
        _sorted([{"key": g["key"], **_quantum_figures(g)} for g in groups]),
    )


# Reports whose statement takes longer to plan than to run with its plan: their session
# keeps one generic plan per statement and connection (Database.session(generic_plans=)).
GENERIC_PLANS = frozenset({"fleet"})
REPORTS = {
    "routes": routes_report,
    "fleet": fleet_report,
    "efficiency": efficiency_report,
    "quantum": quantum_report,
}


async def run_report(
    name: str, *, session: AsyncSession, query: ReportQuery, field_prefix: str = ""
) -> Report:
    """Validate the query for report `name` and answer it from the read models."""
    window = report_range(query, DIMENSIONS[name], field_prefix=field_prefix)
    return await REPORTS[name](session=session, window=window, as_of_time=await as_of(session))
