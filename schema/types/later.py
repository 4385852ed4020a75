"""A relation held by a type as a plain attribute: the value where the statement that read
the object read it too, else a `Later` that reads it (through the request's dataloaders)
when, and only when, a query asks for it.

A plain attribute is a field without a resolver, which Strawberry answers by reading it:
no Info object, no argument parsing, no extension chain per object. On a list of a hundred
vehicles with their drivers and users those are two hundred resolver calls saved. GraphQL
awaits the value when it is awaitable, so the fallback costs nothing until it is asked for.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Later(Generic[T]):
    __slots__ = ("_load",)

    def __init__(self, load: Callable[[], Awaitable[T]]) -> None:
        self._load = load

    def __await__(self) -> Generator[Any, None, T]:
        return self._load().__await__()
