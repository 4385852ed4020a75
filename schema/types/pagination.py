"""Relay connections: `first`/`after`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from core.pagination import CursorRequest, Page, encode_cursor

Node = TypeVar("Node")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: Page[Any], to_node: Callable[[Any], Node]) -> Connection[Node]:
        edges = [
            Edge(cursor=encode_cursor(row.created_at, row.id), node=to_node(row))
            for row in page.items
        ]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            total_count=page.total,
        )


def selects(info: Any, name: str) -> bool:
    """Whether a field called `name` is selected anywhere under the field being resolved
    (fragments included)."""

    def selected(selections: list[Any]) -> bool:
        return any(
            getattr(s, "name", None) == name or selected(getattr(s, "selections", []))
            for s in selections
        )

    return selected(info.selected_fields[0].selections)


def wants_total(info: Any) -> bool:
    """Whether the connection's `totalCount` is selected (fragments included)."""
    return selects(info, "totalCount")


def cursor(info: Any, first: int, after: str | None) -> CursorRequest:
    return CursorRequest(first, after, with_total=wants_total(info))
