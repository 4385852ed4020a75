"""Relay connections: `first`/`after`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

import strawberry

from core.pagination import Page, encode_cursor

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
