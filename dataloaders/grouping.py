"""Aligning one-to-many rows with a loader's keys."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar
from uuid import UUID

T = TypeVar("T")


def grouped(
    rows: Iterable[T], key: Callable[[T], UUID], keys: Sequence[UUID]
) -> list[list[T] | None]:
    """Each key's rows, in the order read (an empty list for a key with none)."""
    by_key: dict[UUID, list[T]] = defaultdict(list)
    for row in rows:
        by_key[key(row)].append(row)
    return [by_key.get(k, []) for k in keys]
