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


def selected(info: Any, *names: str) -> set[str]:
    """Which of `names` are selected anywhere under the field being resolved (fragments
    included), in one walk of the query's own syntax tree: `info.selected_fields` builds
    Strawberry's copy of the whole selection first, which costs more than the walk."""
    raw = info._raw_info  # graphql-core's GraphQLResolveInfo
    fragments = raw.fragments
    wanted, found = set(names), set()

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value in wanted:
                    found.add(selection.name.value)
                walk(selection.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None:
                    walk(fragment.selection_set)

    for node in raw.field_nodes:
        walk(node.selection_set)
    return found


def cursor(
    info: Any, first: int, after: str | None, *, with_total: bool | None = None
) -> CursorRequest:
    """The page a connection field asks for; its total only where `totalCount` is selected
    (`with_total` when the caller has looked already)."""
    if with_total is None:
        with_total = "totalCount" in selected(info, "totalCount")
    return CursorRequest(first, after, with_total=with_total)
