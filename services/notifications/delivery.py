"""Sending webhook deliveries: signed POSTs, retried with exponential back-off and jitter.

Each attempt POSTs the event envelope with the header
`OmniRoute-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`, the
convention of Stripe and others: a receiver recomputes it, compares in constant time, and
rejects a timestamp too far from its clock (a replay). Any 2xx is success; anything else
(another status, a timeout, a refused connection) is retried after
`base * 2^(attempt-1)` seconds (at most `max`), scaled by a random factor in [0.5, 1],
until `window` seconds after the event, when the delivery is marked failed.

Due deliveries are leased across workspaces by one SECURITY DEFINER function (several
senders may run), then each is sent on a task of its own: a slow receiver holds only its
own endpoint's few slots (`per_endpoint`), never the others' or the API's.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import random
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

import httpx

from core.db import Database
from core.errors import ValidationFailed
from core.settings import Settings
from models.notifications import DeliveryStatus, Webhook, WebhookDelivery
from services.notifications.targets import check_target, pinned_transport
from services.notifications.webhooks import allow_private_targets

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "OmniRoute-Signature"
USER_AGENT = "OmniRoute-Webhooks/1"
_ERROR_TEXT = 500


def sign(secret: str, timestamp: int, body: str) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    base_s: float = 30.0
    max_s: float = 3600.0
    window_s: float = 24 * 3600.0

    def delay(self, failures: int) -> float:
        """Seconds before the next attempt after `failures` failed ones (jittered)."""
        ceiling = min(self.max_s, self.base_s * 2 ** max(0, failures - 1))
        return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True, slots=True)
class SenderSettings:
    timeout_s: float
    concurrency: int
    per_endpoint: int
    poll_s: float
    retry: RetryPolicy
    allow_private: bool

    @classmethod
    def of(cls, settings: Settings) -> SenderSettings:
        return cls(
            timeout_s=settings.webhook_timeout_s,
            concurrency=settings.webhook_concurrency,
            per_endpoint=settings.webhook_per_endpoint,
            poll_s=settings.webhook_poll_ms / 1000,
            retry=RetryPolicy(
                settings.webhook_retry_base_s,
                settings.webhook_retry_max_s,
                settings.webhook_retry_window_s,
            ),
            allow_private=allow_private_targets(settings),
        )


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    latency_ms: int
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookSender:
    def __init__(self, db: Database, settings: SenderSettings) -> None:
        self._db = db
        self._settings = settings
        self._wake = asyncio.Event()
        self._stopping = False
        self._slots = asyncio.Semaphore(settings.concurrency)
        self._endpoints: defaultdict[UUID, asyncio.Semaphore] = defaultdict(
            lambda: asyncio.Semaphore(settings.per_endpoint)
        )
        # Attempts running, by delivery: a lease that ran out while its attempt waited for
        # the endpoint's slots must not start a second attempt at the same delivery here.
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        # A lease outlives an attempt, so that no other sender takes a delivery mid-send.
        self._lease_s = settings.timeout_s + 30.0

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        async with httpx.AsyncClient(
            transport=pinned_transport(allow_private=self._settings.allow_private),
            timeout=self._settings.timeout_s,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Content-Type": "application/json"},
        ) as client:
            try:
                while not self._stopping:
                    try:
                        leased = await self.lease()
                    except Exception:
                        log.exception("cannot lease webhook deliveries")
                        leased = []
                    for delivery_id, workspace_id in leased:
                        if delivery_id in self._in_flight:
                            continue
                        task = asyncio.create_task(self.attempt(client, delivery_id, workspace_id))
                        self._in_flight[delivery_id] = task
                        task.add_done_callback(partial(self._finished, delivery_id))
                    if len(leased) < self._settings.concurrency:
                        with contextlib.suppress(TimeoutError):
                            async with asyncio.timeout(self._settings.poll_s):
                                await self._wake.wait()
                        self._wake.clear()
            finally:
                running = list(self._in_flight.values())
                for task in running:
                    task.cancel()
                await asyncio.gather(*running, return_exceptions=True)

    def _finished(self, delivery_id: UUID, _: asyncio.Task[None]) -> None:
        self._in_flight.pop(delivery_id, None)

    async def lease(self) -> list[tuple[UUID, UUID]]:
        """Due deliveries of every workspace, now this sender's for `_lease_s`."""
        free = self._settings.concurrency - len(self._in_flight)
        if free <= 0:  # every slot busy: what is due waits for the next look
            return []
        rows = await self._db.lookup(
            "SELECT id, workspace_id FROM webhook_deliveries_lease($1, $2)", free, self._lease_s
        )
        return [(row["id"], row["workspace_id"]) for row in rows]

    async def attempt(
        self, client: httpx.AsyncClient, delivery_id: UUID, workspace_id: UUID
    ) -> None:
        """Send one delivery once and record the outcome."""
        try:
            async with self._db.session(workspace_id) as session:
                delivery = await session.get(WebhookDelivery, delivery_id)
                if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
                    return
                webhook = await session.get(Webhook, delivery.webhook_id)
            if webhook is None or webhook.deleted_at is not None:
                await self._record(
                    delivery_id, workspace_id, Outcome(None, 0, "endpoint deleted"), final=True
                )
                return
            async with self._endpoints[webhook.id], self._slots:
                outcome = await self._send(client, webhook, delivery)
            await self._record(delivery_id, workspace_id, outcome)
        except Exception:
            log.exception("webhook attempt failed", extra={"delivery_id": str(delivery_id)})

    async def _send(
        self, client: httpx.AsyncClient, webhook: Webhook, delivery: WebhookDelivery
    ) -> Outcome:
        started = time.monotonic()
        try:
            await check_target(webhook.url, allow_private=self._settings.allow_private)
            timestamp = int(time.time())
            response = await client.post(
                webhook.url,
                content=delivery.body.encode(),
                headers={
                    SIGNATURE_HEADER: sign(webhook.secret, timestamp, delivery.body),
                    "OmniRoute-Event": delivery.event_type,
                    "OmniRoute-Delivery": str(delivery.id),
                },
            )
            error = None if response.is_success else f"HTTP {response.status_code}"
            return Outcome(response.status_code, _ms_since(started), error)
        except ValidationFailed as exc:
            return Outcome(None, _ms_since(started), f"refused target: {exc}")
        except httpx.HTTPError as exc:
            return Outcome(None, _ms_since(started), f"{type(exc).__name__}: {exc}"[:_ERROR_TEXT])

    async def _record(
        self, delivery_id: UUID, workspace_id: UUID, outcome: Outcome, *, final: bool = False
    ) -> None:
        async with self._db.session(workspace_id) as session:
            delivery = await session.get(WebhookDelivery, delivery_id, with_for_update=True)
            if delivery is None or delivery.status != DeliveryStatus.PENDING.value:
                return
            now = datetime.now(UTC)
            delivery.attempt_count += 1
            log_entry: dict[str, Any] = {
                "attempt": delivery.attempt_count,
                "at": now.isoformat().replace("+00:00", "Z"),
                "status_code": outcome.status_code,
                "latency_ms": outcome.latency_ms,
                "error": outcome.error,
            }
            delivery.attempts = [*delivery.attempts, log_entry]
            delivery.last_status_code = outcome.status_code
            delivery.last_error = outcome.error
            if outcome.ok:
                delivery.status = DeliveryStatus.DELIVERED.value
                delivery.completed_at = now
                delivery.next_attempt_at = None
            else:
                retry_at = now + timedelta(
                    seconds=self._settings.retry.delay(delivery.attempt_count)
                )
                created = delivery.created_at or now
                if final or retry_at > created + timedelta(seconds=self._settings.retry.window_s):
                    delivery.status = DeliveryStatus.FAILED.value
                    delivery.completed_at = now
                    delivery.next_attempt_at = None
                else:
                    delivery.next_attempt_at = retry_at
            session.add(delivery)


def _ms_since(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
