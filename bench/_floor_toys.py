"""The two reference servers of bench/api_floor.py: what Starlette and Strawberry cost on
their own, with nothing of the project in them.

- `starlette_app`: one route returning a small JSON body.
- `strawberry_app`: a plain Strawberry schema (parser and validation caches on) answering
  the project's vehicles query shape, `vehicles(first:) { edges { node { ... driver { ...
  user { ... } } } } }`, from memory.
"""

from __future__ import annotations

import uuid

import strawberry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


async def small_json(_: Request) -> JSONResponse:
    return JSONResponse({"data": {"id": "0b7e0a52-8c1f-4c8e-9a57-3b1d2f0e6f11", "status": "ok"}})


starlette_app = Starlette(routes=[Route("/json", small_json)])


@strawberry.type
class User:
    id: strawberry.ID
    full_name: str


@strawberry.type
class Driver:
    id: strawberry.ID
    license_number: str
    user: User


@strawberry.type
class Vehicle:
    id: strawberry.ID
    plate_number: str
    status: str
    driver: Driver | None


@strawberry.type
class VehicleEdge:
    cursor: str
    node: Vehicle


@strawberry.type
class VehicleConnection:
    edges: list[VehicleEdge]


def _fleet(size: int) -> list[Vehicle]:
    return [
        Vehicle(
            id=strawberry.ID(str(uuid.uuid4())),
            plate_number=f"B {i:04d}",
            status="available",
            driver=Driver(
                id=strawberry.ID(str(uuid.uuid4())),
                license_number=f"DL-{i:06d}",
                user=User(id=strawberry.ID(str(uuid.uuid4())), full_name=f"Driver {i}"),
            ),
        )
        for i in range(size)
    ]


FLEET = _fleet(100)


@strawberry.type
class Query:
    @strawberry.field
    def vehicles(self, first: int = 10) -> VehicleConnection:
        return VehicleConnection(
            edges=[VehicleEdge(cursor=str(i), node=v) for i, v in enumerate(FLEET[:first])]
        )


schema = strawberry.Schema(
    query=Query, extensions=[ParserCache(maxsize=64), ValidationCache(maxsize=64)]
)
strawberry_app = Starlette(routes=[Route("/graphql", GraphQL(schema), methods=["GET", "POST"])])
