"""Bulk import of locations from CSV or a GeoJSON FeatureCollection: every row is
validated, every bad row reported, and either all rows are imported or none."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from pydantic import ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from core.errors import ValidationFailed
from core.principal import Principal
from models import Location
from models.fleet_inputs import LocationCreate
from services.changes import record_change
from services.fleet.locations import new_location

MAX_ROWS = 10_000
CSV_COLUMNS = {
    "name",
    "lat",
    "lng",
    "address",
    "location_type",
    "contact_name",
    "contact_phone",
    "contact_email",
    "operating_hours",
    "metadata",
}


def _json_cell(value: str) -> Any:
    """A JSON cell decoded, or left as text for validation to reject on its row."""
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value


def rows_from_csv(text: str) -> list[dict[str, Any]]:
    """One dict per data row, shaped like `LocationCreate`. Header names as in CSV_COLUMNS."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = set(reader.fieldnames or [])
    missing = {"name", "lat", "lng"} - header
    if missing:
        raise ValidationFailed.field("file", f"missing columns: {', '.join(sorted(missing))}")
    unknown = header - CSV_COLUMNS
    if unknown:
        raise ValidationFailed.field("file", f"unknown columns: {', '.join(sorted(unknown))}")
    rows: list[dict[str, Any]] = []
    for record in reader:
        cells = {k: (v or "").strip() for k, v in record.items() if k is not None}
        row: dict[str, Any] = {
            "name": cells.get("name", ""),
            "geo": {"lat": cells.get("lat"), "lng": cells.get("lng")},
        }
        for column in ("address", "location_type"):
            if cells.get(column):
                row[column] = cells[column]
        contact = {
            k.removeprefix("contact_"): cells[k]
            for k in ("contact_name", "contact_phone", "contact_email")
            if cells.get(k)
        }
        if contact:
            row["contact_info"] = contact
        for column in ("operating_hours", "metadata"):
            if cells.get(column):
                row[column] = _json_cell(cells[column])
        rows.append(row)
    return rows


def rows_from_geojson(data: Any) -> list[dict[str, Any]]:
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise ValidationFailed.field("file", "expected a GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list):
        raise ValidationFailed.field("file.features", "expected a list of features")
    rows: list[dict[str, Any]] = []
    for feature in features:
        properties = feature.get("properties") if isinstance(feature, dict) else None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        rows.append({**(properties if isinstance(properties, dict) else {}), "geo": geometry})
    return rows


def validate_rows(rows: list[dict[str, Any]]) -> list[LocationCreate]:
    if not rows:
        raise ValidationFailed.field("file", "holds no rows")
    if len(rows) > MAX_ROWS:
        raise ValidationFailed.field(
            "file", f"holds {len(rows)} rows; at most {MAX_ROWS} per import"
        )
    valid: list[LocationCreate] = []
    problems: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=1):
        try:
            valid.append(LocationCreate.model_validate(row))
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                problems.append({"row": number, "field": field, "message": err["msg"]})
    if problems:
        rows_hit = sorted({p["row"] for p in problems})
        listed = ", ".join(map(str, rows_hit[:20]))
        raise ValidationFailed(
            f"{len(rows_hit)} of {len(rows)} rows are invalid (rows {listed}); nothing imported",
            details={"rows": problems},
        )
    return valid


async def import_locations(
    *, session: AsyncSession, actor: Principal, rows: list[dict[str, Any]]
) -> list[Location]:
    """Insert every row or none: validation first, then one transaction."""
    locations = [new_location(actor, data) for data in validate_rows(rows)]
    session.add_all(locations)
    await session.flush()
    await record_change(
        session=session,
        actor=actor,
        action="location.imported",
        resource_type="location",
        resource_id=None,
        changes={"count": len(locations)},
        event={"count": len(locations), "ids": [str(loc.id) for loc in locations]},
    )
    return locations
