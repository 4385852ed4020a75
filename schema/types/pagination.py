"""Relay connections: `first`/`after`, `pageInfo`, `totalCount`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode, SelectionSetNode

from core.pagination import CursorRequest, Page, encode_cursor

Node = TypeVar("Node")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    node: Node
    # The node's (created_at, id): its cursor, encoded only where a query asks for it.
    key: strawberry.Private[tuple[datetime, UUID]]

    @strawberry.field
    def cursor(self) -> str:
        return encode_cursor(*self.key)


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    total_count: int

    @classmethod
    def of(cls, page: Page[Any], to_node: Callable[[Any], Node]) -> Connection[Node]:
        edges = [Edge(node=to_node(row), key=(row.created_at, row.id)) for row in page.items]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                end_cursor=encode_cursor(*edges[-1].key) if edges else None,
            ),
            total_count=page.total,
        )


def selects(info: Any, name: str) -> bool:
    """Whether a field called `name` is selected anywhere under the field being resolved
    (fragments included). Walks the query's own syntax tree: `info.selected_fields` builds
    Strawberry's copy of the whole selection first, which costs more than the walk."""
    raw = info._raw_info  # graphql-core's GraphQLResolveInfo
    fragments = raw.fragments

    def selected(selection_set: SelectionSetNode | None) -> bool:
        if selection_set is None:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == name or selected(selection.selection_set):
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if selected(selection.selection_set):
                    return True
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and selected(fragment.selection_set):
                    return True
        return False

    return any(selected(node.selection_set) for node in raw.field_nodes)


def wants_total(info: Any) -> bool:
    """Whether the connection's `totalCount` is selected (fragments included)."""
    return selects(info, "totalCount")


def cursor(info: Any, first: int, after: str | None) -> CursorRequest:
    return CursorRequest(first, after, with_total=wants_total(info))
