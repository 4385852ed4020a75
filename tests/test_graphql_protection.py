"""Document limits that keep one GraphQL request from costing the server too much."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from core.crypto import DEV_INDEX_KEY, DEV_KEYS
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.helpers import error_code, gql


@pytest.fixture
async def limited(database: DatabaseUnderTest) -> AsyncIterator[httpx.AsyncClient]:
    settings = settings_for(
        database.name, graphql_max_depth=1, graphql_max_aliases=4, graphql_max_tokens=60
    )
    app, lifespan = await start_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            yield client
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_depth_limit(limited: httpx.AsyncClient) -> None:
    shallow = await gql(limited, "{ serverInfo { version } }")
    assert shallow["data"]["serverInfo"]["version"]
    for document in (
        "{ me { user { id } } }",
        "fragment U on Profile { user { id } } { me { ...U } }",
    ):
        deep = await gql(limited, document)
        assert error_code(deep) == "VALIDATION_ERROR", document
        assert "depth" in deep["errors"][0]["message"].lower()


async def test_aliases_are_counted_through_fragments(limited: httpx.AsyncClient) -> None:
    inline = " ".join(f"a{i}: serverInfo {{ version }}" for i in range(5))
    assert "aliases" in str(await gql(limited, f"{{ {inline} }}")).lower()
    hidden = (
        "fragment Many on Query { a: serverInfo { version } b: serverInfo { version }"
        " c: serverInfo { version } }"
        " { ...Many d: serverInfo { version } e: serverInfo { version } }"
    )
    refused = await gql(limited, hidden)
    assert error_code(refused) == "VALIDATION_ERROR"
    assert "aliases" in refused["errors"][0]["message"].lower()
    allowed = await gql(limited, "{ a: serverInfo { version } b: serverInfo { version } }")
    assert allowed["data"]["a"]["version"] == allowed["data"]["b"]["version"]


async def test_token_limit(limited: httpx.AsyncClient) -> None:
    padding = " ".join("version" for _ in range(70))
    refused = await gql(limited, f"{{ serverInfo {{ {padding} }} }}")
    assert error_code(refused) == "VALIDATION_ERROR"
    assert "token" in refused["errors"][0]["message"].lower()


async def test_production_turns_off_introspection_and_graphiql(
    database: DatabaseUnderTest,
) -> None:
    settings = settings_for(
        database.name,
        environment="production",
        jwt_secret="p" * 48,
        pii_keys=DEV_KEYS,
        pii_index_key=DEV_INDEX_KEY,
    )
    app, lifespan = await start_app(settings)
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            introspection = await gql(client, "{ __schema { types { name } } }")
            page = await client.get("/graphql", headers={"Accept": "text/html"})
            works = await gql(client, "{ serverInfo { environment } }")
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
    assert error_code(introspection) == "VALIDATION_ERROR"
    assert "GraphiQL" not in page.text
    assert works["data"]["serverInfo"]["environment"] == "production"


async def test_development_serves_graphiql(database: DatabaseUnderTest) -> None:
    app, lifespan = await start_app(settings_for(database.name, environment="development"))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as client:
            page = await client.get("/graphql", headers={"Accept": "text/html"})
            introspection = await gql(client, "{ __schema { queryType { name } } }")
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]
    assert "GraphiQL" in page.text
    assert introspection["data"]["__schema"]["queryType"]["name"] == "Query"
