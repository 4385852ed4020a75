"""Per-request dataloaders, one per access pattern, created in the GraphQL context."""

from __future__ import annotations

from dataclasses import dataclass

from core.db import Database


@dataclass(slots=True)
class DataLoaders:
    """Holds every loader of one request, so their caches live exactly that long."""

    db: Database

    @classmethod
    def for_request(cls, db: Database) -> DataLoaders:
        return cls(db=db)
