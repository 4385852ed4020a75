"""`python -m tasks.events`: the event backbone's long-running process.

It runs the outbox relay (standing by while another process's relay is active), one
consumer of each consumer group (`--groups analytics,realtime` for some only), and the
webhook sender. Run as many as you like: consumers of one group share the streams' entries,
relays take over from each other, senders lease disjoint deliveries. SIGTERM or SIGINT
stops it; entries it had not acknowledged are reclaimed by the others.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable

from broadcaster import Broadcast

from core.logging import configure_logging
from core.outbox import OutboxRelay, RelaySettings
from core.runtime import Runtime
from core.settings import Settings, get_settings
from core.streams import ConsumerGroup, ConsumerSettings, GroupSpec
from services.notifications.delivery import SenderSettings, WebhookSender
from services.receipts import prune_receipts
from tasks.consumers import ConsumerContext, analytics, notification, realtime, routing
from tasks.routing import DramatiqJobQueue

log = logging.getLogger("omniroute.events")

PRUNE_INTERVAL_S = 600.0

GROUPS: dict[str, Callable[[ConsumerContext], GroupSpec]] = {
    "analytics": analytics.group,
    "notification": notification.group,
    "realtime": realtime.group,
    "routing": routing.group,
}


async def serve(
    settings: Settings,
    *,
    groups: list[str],
    relay: bool = True,
    stop: asyncio.Event | None = None,
) -> None:
    """Run until `stop` is set (or SIGTERM/SIGINT when not given)."""
    if settings.single_process:
        raise SystemExit("the events process needs Redis (REDIS_URL)")
    stop = stop or _stop_on_signals()
    runtime = Runtime.start(settings)
    assert runtime.redis is not None
    broadcast = Broadcast(settings.redis_url)
    await broadcast.connect()
    sender = WebhookSender(runtime.db, SenderSettings.of(settings))
    ctx = ConsumerContext(runtime, runtime.redis, broadcast, DramatiqJobQueue(), sender)
    consumers = [
        ConsumerGroup(runtime.redis, GROUPS[name](ctx), ConsumerSettings.of(settings))
        for name in groups
    ]
    workers: list[tuple[Callable[[], None], asyncio.Task[None]]] = [
        (c.stop, asyncio.create_task(c.run())) for c in consumers
    ]
    if "notification" in groups:
        workers.append((sender.stop, asyncio.create_task(sender.run())))
    if consumers:
        pruning = asyncio.Event()
        workers.append((pruning.set, asyncio.create_task(_prune(runtime, settings, pruning))))
    if relay:
        outbox = OutboxRelay(settings.session_dsn, runtime.db.bus, RelaySettings.of(settings))
        workers.append((outbox.stop, asyncio.create_task(outbox.run())))
    log.info("events process started", extra={"groups": groups, "relay": relay})
    try:
        await stop.wait()
    finally:
        for halt, _ in workers:
            halt()
        for _, task in workers:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=5)
        await broadcast.disconnect()
        await runtime.close()
        log.info("events process stopped")


async def _prune(runtime: Runtime, settings: Settings, stop: asyncio.Event) -> None:
    """Every few minutes, forget consumer receipts past their time (any process may)."""
    while not stop.is_set():
        try:
            pruned = await prune_receipts(
                db=runtime.db, older_than_s=settings.consumer_receipt_ttl_s
            )
            if pruned:
                log.info("consumer receipts pruned", extra={"pruned": pruned})
        except Exception:
            log.exception("pruning consumer receipts failed; retrying at the next round")
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(PRUNE_INTERVAL_S):
                await stop.wait()


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--groups", default=",".join(GROUPS), help="comma-separated groups")
    parser.add_argument("--no-relay", action="store_true", help="run no outbox relay")
    args = parser.parse_args()
    groups = [g for g in args.groups.split(",") if g]
    unknown = set(groups) - set(GROUPS)
    if unknown:
        parser.error(f"unknown groups: {', '.join(sorted(unknown))}")
    settings = get_settings()
    configure_logging(settings.log_level)
    asyncio.run(serve(settings, groups=groups, relay=not args.no_relay))


if __name__ == "__main__":
    main()
