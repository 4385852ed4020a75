"""Builds the Dramatiq broker from the settings and installs it as the global broker.

Redis (`BROKER_URL`, else `REDIS_URL`) in normal operation, RabbitMQ for an `amqp://`
broker URL, and in single-process mode a stub broker drained by an in-process worker.
On Redis every key lives under the deployment's namespace, so deployments sharing one
Redis never see each other's queues; on RabbitMQ the URL's virtual host does the same.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import AsyncIO

from core.settings import Settings, get_settings


def broker_url(settings: Settings) -> str | None:
    if settings.single_process:
        return None
    return settings.broker_url or settings.redis_url


# Per million broker commands: how often one also re-queues the messages of workers silent
# past the heartbeat timeout. An idle worker sends a few commands a second, so at 2% the
# messages of a dead worker come back within seconds of the timeout (Dramatiq's 0.1%: minutes).
MAINTENANCE_CHANCE = 20_000


def redis_namespace(settings: Settings) -> str:
    return f"dramatiq:{settings.deployment}"


def build_broker(settings: Settings) -> dramatiq.Broker:
    url = broker_url(settings)
    broker: dramatiq.Broker
    if url is None:
        broker = StubBroker()
        broker.emit_after("process_boot")
    elif url.startswith("amqp"):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(
            url=url,
            namespace=redis_namespace(settings),
            heartbeat_timeout=int(settings.broker_heartbeat_timeout_s * 1000),
            maintenance_chance=MAINTENANCE_CHANCE,
        )
    broker.add_middleware(AsyncIO())
    return broker


broker = build_broker(get_settings())
dramatiq.set_broker(broker)
