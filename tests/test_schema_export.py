"""The committed schema.graphql is what the code serves: an API change is always a diff."""

from __future__ import annotations

from pathlib import Path

from strawberry.printer import print_schema

from app import graphql_schema
from core.settings import get_settings


def test_committed_schema_matches_the_code() -> None:
    committed = (Path(__file__).resolve().parent.parent / "schema.graphql").read_text()
    current = print_schema(graphql_schema(get_settings()))
    assert committed.strip() == current.strip(), "schema.graphql is stale: run `make schema`"
