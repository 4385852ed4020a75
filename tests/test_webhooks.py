"""Webhooks: registration by admins, signed deliveries to a real receiver on 127.0.0.1,
retries, a hanging receiver that delays no one else, and target checks outside development."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from core.crypto import DEV_INDEX_KEY, DEV_KEYS
from services.notifications.targets import pinned_transport
from tests.conftest import DatabaseUnderTest, settings_for, start_app
from tests.events_helpers import events_process, eventually
from tests.helpers import gql, member, register
from tests.routing_helpers import make_vehicle
from tests.served_app import free_port

pytestmark = pytest.mark.slow


@dataclass
class Receiver:
    """An HTTP receiver on 127.0.0.1 that verifies signatures as a customer would."""

    port: int
    secrets: dict[str, str] = field(default_factory=dict)
    received: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_call_at: dict[str, float] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    def verified(self, name: str, header: str, body: bytes) -> bool:
        parts = dict(item.split("=", 1) for item in header.split(","))
        expected = hmac.new(
            self.secrets[name].encode(), parts["t"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        fresh = abs(time.time() - int(parts["t"])) < 300
        return fresh and hmac.compare_digest(expected, parts["v1"])

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        self.calls[name] += 1
        self.first_call_at.setdefault(name, time.monotonic())
        body = await request.body()
        if name.startswith("hang"):
            await asyncio.sleep(30)
        if name.startswith("flaky") and self.calls[name] == 1:
            return Response(status_code=500)
        if name.startswith("down"):
            return Response(status_code=503)
        self.received[name].append(
            {
                "envelope": orjson.loads(body),
                "verified": self.verified(name, request.headers["omniroute-signature"], body),
                "at": time.monotonic(),
            }
        )
        return Response(status_code=204)


@contextlib.asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    state = Receiver(free_port())
    app = Starlette(routes=[Route("/{name}", state.handle, methods=["POST"])])
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=state.port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to await
        await asyncio.sleep(0.02)
    try:
        yield state
    finally:
        server.should_exit = True
        server.force_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, 5)


async def add_webhook(
    client: httpx.AsyncClient, headers: dict[str, str], url: str, topics: list[str]
) -> httpx.Response:
    return await client.post(
        "/api/v1/webhooks", json={"url": url, "topics": topics}, headers=headers
    )


async def test_deliveries_are_signed_retried_and_a_hanging_receiver_delays_no_one(
    client: httpx.AsyncClient, database: DatabaseUnderTest
) -> None:
    admin = await register(client)
    async with receiver() as hooks:
        ids = {}
        for name in ("ok", "flaky", "hang"):
            created = await add_webhook(client, admin.headers, hooks.url(name), ["vehicle.created"])
            assert created.status_code == 201, created.text
            data = created.json()["data"]
            assert data["secret"].startswith("whsec_")
            hooks.secrets[name] = data["secret"]
            ids[name] = data["id"]
        # Another topic only: gets nothing.
        other = await add_webhook(client, admin.headers, hooks.url("other"), ["route.deployed"])
        assert other.status_code == 201
        # The secret is shown once.
        listed = await client.get("/api/v1/webhooks", headers=admin.headers)
        assert {w["id"] for w in listed.json()["data"]} == {
            *ids.values(),
            other.json()["data"]["id"],
        }
        assert all("secret" not in w for w in listed.json()["data"])

        async with events_process(
            database,
            env={"WEBHOOK_RETRY_BASE_S": "0.3", "WEBHOOK_TIMEOUT_S": "5"},
        ):
            await make_vehicle(client, admin, "HOOK-1")
            ok = await eventually(lambda: _received(hooks, "ok"), bool)
            await eventually(lambda: _calls(hooks, "hang"), bool)
            # Delivered while the hanging receiver holds its own request (for 5 s, the
            # attempt's timeout): not after it.
            assert abs(ok[0]["at"] - hooks.first_call_at["hang"]) < 2.0
            assert hooks.calls["hang"] == 1 and not hooks.received["hang"]
            envelope = ok[0]["envelope"]
            assert ok[0]["verified"]
            assert envelope["event_type"] == "vehicle.created"
            assert envelope["workspace_id"] == admin.workspace_id
            assert envelope["data"]["plate_number"] == "HOOK-1"
            flaky = await eventually(lambda: _received(hooks, "flaky"), bool)
            assert flaky[0]["verified"] and flaky[0]["envelope"] == envelope
            assert hooks.calls["flaky"] == 2

            deliveries = await eventually(
                lambda: _deliveries(client, admin.headers, ids["flaky"]),
                lambda d: bool(d) and d[0]["status"] == "delivered",
                interval_s=0.5,
            )
            [delivery] = deliveries
            assert [a["status_code"] for a in delivery["attempts"]] == [500, 204]
            assert all(isinstance(a["latency_ms"], int) for a in delivery["attempts"])
            assert delivery["event_id"] == envelope["event_id"]
            hung = await eventually(
                lambda: _deliveries(client, admin.headers, ids["hang"]),
                lambda d: bool(d) and d[0]["attempt_count"] >= 1,
                interval_s=0.5,
            )
            assert hung[0]["status"] == "pending"
            assert "Timeout" in hung[0]["attempts"][0]["error"]
        assert hooks.calls["other"] == 0
        assert len(hooks.received["ok"]) == 1


async def test_a_receiver_failing_past_the_retry_window_ends_failed(
    client: httpx.AsyncClient, database: DatabaseUnderTest
) -> None:
    admin = await register(client)
    async with receiver() as hooks:
        created = await add_webhook(client, admin.headers, hooks.url("down"), ["vehicle.created"])
        webhook_id = created.json()["data"]["id"]
        async with events_process(
            database, env={"WEBHOOK_RETRY_BASE_S": "0.2", "WEBHOOK_RETRY_WINDOW_S": "2"}
        ):
            await make_vehicle(client, admin, "DOWN-1")
            deliveries = await eventually(
                lambda: _deliveries(client, admin.headers, webhook_id),
                lambda d: bool(d) and d[0]["status"] == "failed",
                interval_s=0.5,  # within the per-user rate limit
            )
    [delivery] = deliveries
    codes = [a["status_code"] for a in delivery["attempts"]]
    # Retried with growing waits, then given up once the next try would fall past the window.
    assert len(codes) >= 3 and set(codes) == {503}
    assert delivery["next_attempt_at"] is None and delivery["completed_at"] is not None
    assert hooks.calls["down"] == len(codes)


async def _calls(hooks: Receiver, name: str) -> int:
    return hooks.calls[name]


async def _received(hooks: Receiver, name: str) -> list[dict[str, Any]]:
    return list(hooks.received[name])


async def _deliveries(
    client: httpx.AsyncClient, headers: dict[str, str], webhook_id: str
) -> list[dict[str, Any]]:
    response = await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_only_admins_manage_webhooks_and_deletion_ends_deliveries(
    client: httpx.AsyncClient,
) -> None:
    admin = await register(client)
    operator = await member(client, admin, "operator")
    refused = await add_webhook(client, operator.headers, "http://127.0.0.1:9/x", ["*"])
    assert refused.status_code == 403
    assert (await client.get("/api/v1/webhooks", headers=operator.headers)).status_code == 403
    created = await add_webhook(client, admin.headers, "http://127.0.0.1:9/x", ["*"])
    webhook_id = created.json()["data"]["id"]
    stranger = await register(client)
    assert (
        await client.get(f"/api/v1/webhooks/{webhook_id}/deliveries", headers=stranger.headers)
    ).status_code == 404
    bad = await add_webhook(client, admin.headers, "http://127.0.0.1:9/x", ["not a topic"])
    assert bad.status_code == 422
    assert bad.json()["error"]["details"]["fields"][0]["field"] == "topics"
    gone = await client.delete(f"/api/v1/webhooks/{webhook_id}", headers=admin.headers)
    assert gone.status_code == 200
    assert (
        await client.get(f"/api/v1/webhooks/{webhook_id}", headers=admin.headers)
    ).status_code == 404

    # GraphQL: the same services.
    result = await gql(
        client,
        'mutation($u: String!) { createWebhook(input: {url: $u, topics: ["route.deployed"]})'
        " { ... on WebhookRegistration { secret webhook { id topics } } } }",
        {"u": "http://127.0.0.1:9/y"},
        session=admin,
    )
    registration = result["data"]["createWebhook"]
    assert registration["secret"].startswith("whsec_")
    assert registration["webhook"]["topics"] == ["route.deployed"]
    listed = await gql(client, "{ webhooks { edges { node { id url } } } }", session=admin)
    assert [e["node"]["id"] for e in listed["data"]["webhooks"]["edges"]] == [
        registration["webhook"]["id"]
    ]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("https://10.1.2.3/hook", "non-public"),
        ("https://localhost/hook", "non-public"),
        ("https://[::1]/hook", "non-public"),
        ("https://169.254.169.254/latest/meta-data", "non-public"),
        ("http://example.com/hook", "scheme"),
    ],
)
async def test_private_or_plain_http_targets_are_refused_outside_development(
    database: DatabaseUnderTest, url: str, reason: str
) -> None:
    settings = settings_for(
        database.name,
        environment="staging",
        jwt_secret="s" * 48,
        pii_keys=DEV_KEYS,
        pii_index_key=DEV_INDEX_KEY,
    )
    app, lifespan = await start_app(settings)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            admin = await register(client)
            refused = await add_webhook(client, admin.headers, url, ["*"])
            assert refused.status_code == 422, refused.text
            [problem] = refused.json()["error"]["details"]["fields"]
            assert problem["field"] == "url"
            assert reason in problem["message"]
    finally:
        await lifespan.__aexit__(None, None, None)  # type: ignore[attr-defined]


async def test_the_connection_is_checked_as_it_opens_not_only_before() -> None:
    """A name that resolves to a private address when the connection opens (DNS rebinding
    after the check) reaches nothing: the sender connects only to an address it checked at
    that moment. In development, where private targets are allowed, the same request lands."""
    async with receiver() as hooks:
        for host in ("localhost", "127.0.0.1"):
            url = hooks.url("pinned").replace("127.0.0.1", host)
            transport = pinned_transport(allow_private=False)
            async with httpx.AsyncClient(transport=transport) as sender:
                with pytest.raises(httpx.ConnectError, match="non-public address"):
                    await sender.post(url, content=b"{}")
        assert await _calls(hooks, "pinned") == 0
        async with httpx.AsyncClient(transport=pinned_transport(allow_private=True)) as sender:
            await sender.post(hooks.url("pinned"), content=b"{}")
        assert await _calls(hooks, "pinned") == 1
