"""The toy of `graphql_read.py`: a plain Strawberry app (parser and validation caches on)
answering `vehicles(first)` with drivers and their users from memory.

    python bench/_toy_graphql.py PORT
"""

from __future__ import annotations

import sys
import uuid
from enum import Enum

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.extensions import ParserCache, ValidationCache


@strawberry.enum
class VehicleStatus(Enum):
    AVAILABLE = "available"


@strawberry.type
class User:
    id: strawberry.ID
    email: str
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
    status: VehicleStatus
    driver: Driver | None


@strawberry.type
class VehicleEdge:
    node: Vehicle


@strawberry.type
class VehicleConnection:
    edges: list[VehicleEdge]


FLEET = [
    Vehicle(
        id=strawberry.ID(str(uuid.uuid4())),
        plate_number=f"KA01LV{n:04d}",
        status=VehicleStatus.AVAILABLE,
        driver=Driver(
            id=strawberry.ID(str(uuid.uuid4())),
            license_number=f"KA-{n:04d}",
            user=User(
                id=strawberry.ID(str(uuid.uuid4())),
                email=f"driver-{n}@example.com",
                full_name=f"Driver {n}",
            ),
        ),
    )
    for n in range(100)
]


@strawberry.type
class Query:
    @strawberry.field
    def vehicles(self, first: int = 20) -> VehicleConnection:
        return VehicleConnection(edges=[VehicleEdge(node=v) for v in FLEET[:first]])


schema = strawberry.Schema(query=Query, extensions=[ParserCache, ValidationCache])


async def health(request: Request) -> PlainTextResponse:
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/health/ready", health), Route("/graphql", GraphQL(schema))])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
