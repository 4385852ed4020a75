"""Retention of the time series (spec 4.12): monthly partitions older than 30 days are
exported to compressed files, and those older than 90 days are dropped once exported.

Runs as the schema owner, which may read every workspace's rows of the time series
(policy `retention_read`) and owns the partitions. Both steps are idempotent: an exported
partition is not exported again, and only exported partitions are dropped.
"""

from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

PARTITION = re.compile(
    r"^(?P<parent>live_vehicle_positions|analytics_events)_p(?P<y>\d{4})(?P<m>\d{2})$"
)
EXPORT_AFTER = timedelta(days=30)
DROP_AFTER = timedelta(days=90)
TIME_COLUMN = {"live_vehicle_positions": "recorded_at", "analytics_events": "created_at"}


class Archive(Protocol):
    """Where exported partitions go: a directory here, object storage (S3) behind the
    same interface elsewhere."""

    def has(self, name: str) -> bool: ...

    def write_lines(self, name: str, lines: list[str]) -> None: ...


class DirectoryArchive:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def path(self, name: str) -> Path:
        return self.root / f"{name}.jsonl.gz"

    def has(self, name: str) -> bool:
        return self.path(name).exists()

    def write_lines(self, name: str, lines: list[str]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        target = self.path(name)
        partial = target.with_suffix(".partial")
        with gzip.open(partial, "wt", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        os.replace(partial, target)  # a half-written export never looks finished


@dataclass
class RetentionReport:
    exported: dict[str, int] = field(default_factory=dict)
    dropped: list[str] = field(default_factory=list)


def _month_end(year: int, month: int) -> datetime:
    return datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)


async def _partitions(conn: AsyncConnection) -> list[tuple[str, str, datetime]]:
    rows = await conn.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname IN ('live_vehicle_positions', 'analytics_events')"
        )
    )
    found = []
    for (name,) in rows:
        match = PARTITION.match(name)
        if match:
            end = _month_end(int(match["y"]), int(match["m"]))
            found.append((name, match["parent"], end))
    return sorted(found)


async def _export(conn: AsyncConnection, parent: str, name: str) -> list[str]:
    column = TIME_COLUMN[parent]
    result = await conn.execute(
        text(
            f"SELECT row_to_json(t)::text FROM (SELECT * FROM {parent}"  # noqa: S608
            f" WHERE tableoid = CAST(:partition AS regclass) ORDER BY {column}) AS t"
        ),
        {"partition": name},
    )
    return [line for (line,) in result]


async def apply_retention(
    *, conn: AsyncConnection, archive: Archive, now: datetime | None = None
) -> RetentionReport:
    """Export, then drop, the partitions past their age; `conn` belongs to the owner."""
    now = now or datetime.now(UTC)
    report = RetentionReport()
    for name, parent, end in await _partitions(conn):
        if end > now - EXPORT_AFTER:
            continue
        if not archive.has(name):
            lines = await _export(conn, parent, name)
            archive.write_lines(name, lines)
            report.exported[name] = len(lines)
        if end <= now - DROP_AFTER and archive.has(name):
            await conn.execute(text(f'DROP TABLE "{name}"'))
            report.dropped.append(name)
    await conn.commit()
    return report
