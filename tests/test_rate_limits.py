"""Request budgets per user and per workspace, shared by every API process through Redis;
GraphQL pays one unit per root field, however the fields are spelled."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator

import httpx
from redis.asyncio import Redis

from core.admission import RedisAdmission
from core.ratelimit import Budget
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.helpers import Session, error_code, login, member, register

ME = "/api/v1/auth/me"


@contextlib.asynccontextmanager
async def instances(*settings_list: object) -> AsyncIterator[list[httpx.AsyncClient]]:
    """One client per app process started with each of `settings_list`."""
    async with contextlib.AsyncExitStack() as stack:
        clients = []
        for settings in settings_list:
            app, lifespan = await start_app(settings)  # type: ignore[arg-type]
            stack.push_async_exit(lifespan.__aexit__)  # type: ignore[attr-defined]
            transport = httpx.ASGITransport(app=app, client=("203.0.113.7", 5000))
            clients.append(
                await stack.enter_async_context(
                    httpx.AsyncClient(transport=transport, base_url="http://testserver")
                )
            )
        yield clients


def _tally(responses: list[httpx.Response]) -> Counter[int]:
    for response in responses:
        if response.status_code == 429:
            assert response.json()["error"]["code"] == "RATE_LIMITED"
            assert 1 <= int(response.headers["Retry-After"]) <= 60
    return Counter(r.status_code for r in responses)


async def test_one_user_gets_exactly_100_requests_a_minute(client: httpx.AsyncClient) -> None:
    admin = await register(client)
    responses = [await client.get(ME, headers=admin.headers) for _ in range(150)]
    assert _tally(responses) == {200: 100, 429: 50}
    # Every request after the budget ran out was refused, none slipped in between.
    assert all(r.status_code == 429 for r in responses[100:])


async def test_a_burst_at_once_is_admitted_exactly_to_the_budget(
    client: httpx.AsyncClient,
) -> None:
    """Requests that arrive together are admitted together, each in its turn: exactly the
    budget gets through, and a logged-out session's requests in the same burst are refused
    without spending any of it."""
    admin = await register(client)
    other = Session.of((await login(client, admin.email)).json()["data"])
    logout = await client.post("/api/v1/auth/logout", json={}, headers=other.headers)
    assert logout.status_code == 200, logout.text
    # Logging in and out were charged to the user too.
    used = 1
    burst = [admin if n % 8 else other for n in range(170)]
    responses = await asyncio.gather(*(client.get(ME, headers=s.headers) for s in burst))
    mine = [r for r, s in zip(responses, burst, strict=True) if s is admin]
    theirs = [r for r, s in zip(responses, burst, strict=True) if s is other]
    assert {r.status_code for r in theirs} == {401}
    assert _tally(mine) == {200: 100 - used, 429: len(mine) - (100 - used)}


async def test_the_budget_is_shared_by_two_app_instances(
    database: DatabaseUnderTest, redis: Redis
) -> None:
    async with instances(database.settings, database.settings) as (first, second):
        admin = await register(first)
        responses = [
            await (first if n % 2 else second).get(ME, headers=admin.headers) for n in range(150)
        ]
    assert _tally(responses) == {200: 100, 429: 50}
    assert Counter(r.status_code for r in responses[:100]) == {200: 100}


async def test_users_of_one_workspace_share_its_budget(
    database: DatabaseUnderTest, redis: Redis
) -> None:
    settings = settings_for(
        database.name, rate_limit_workspace_per_min=5, rate_limit_user_per_min=100
    )
    async with instances(settings) as (client,):
        admin = await register(client)
        viewer = await member(client, admin, "viewer")
        other = await register(client, organization="Other Freight")
        # Inviting the viewer was charged too: start the budgets empty.
        await redis.delete(*await redis.keys("rl:*"))
        users = [admin, viewer]
        responses = [await client.get(ME, headers=users[n % 2].headers) for n in range(10)]
        assert _tally(responses) == {200: 5, 429: 5}
        assert [r.status_code for r in responses[:5]] == [200] * 5
        # Another workspace has its own budget.
        assert (await client.get(ME, headers=other.headers)).status_code == 200


THREE_ALIASES = "{ a: me { user { id } } b: me { user { id } } c: me { user { id } } }"
IN_A_FRAGMENT = """
query { ...Three }
fragment Three on Query { a: me { user { id } } b: me { user { id } } c: me { user { id } } }
"""
IN_INLINE_FRAGMENTS = """
query { ... on Query { a: me { user { id } } ... on Query { b: me { user { id } } } }
        c: me { user { id } } }
"""


async def _post(client: httpx.AsyncClient, session: Session, query: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=session.headers)


async def test_graphql_pays_one_unit_per_root_field(
    database: DatabaseUnderTest, redis: Redis
) -> None:
    settings = settings_for(database.name, rate_limit_user_per_min=10)
    async with instances(settings) as (client,):
        for query in (THREE_ALIASES, IN_A_FRAGMENT, IN_INLINE_FRAGMENTS):
            session = await register(client)
            for _ in range(3):
                passed = await _post(client, session, query)
                assert passed.status_code == 200
                assert "errors" not in passed.json(), passed.json()
                assert set(passed.json()["data"]) == {"a", "b", "c"}
            refused = await _post(client, session, query)
            assert refused.status_code == 429
            assert int(refused.headers["Retry-After"]) >= 1
            assert error_code(refused.json()) == "RATE_LIMITED"
            assert refused.json()["data"] is None
            # The refused query was not charged: one more unit is still there, then none.
            assert (await _post(client, session, "{ me { user { id } } }")).status_code == 200
            assert (await _post(client, session, "{ me { user { id } } }")).status_code == 429
            assert (await client.get(ME, headers=session.headers)).status_code == 429


async def test_requests_admitted_in_one_batch_are_counted_once_each(redis: Redis) -> None:
    """One script admits a batch: each request is counted once per key, even where its
    budgets name one key twice, and exactly the limit gets through."""
    admission = RedisAdmission(redis)
    shared = (Budget("rl:test:shared", 3), Budget("rl:test:shared", 3))
    try:
        decisions = await asyncio.gather(
            *(admission.admit(f"jti-{n}", shared, session_id=uuid.uuid4()) for n in range(5))
        )
    finally:
        await admission.aclose()
    assert [d.allowed for d in decisions] == [True, True, True, False, False]
    assert all(1 <= d.retry_after_s <= 60 for d in decisions[3:])
    assert await redis.zcard("rl:test:shared") == 3
