"""The broadcast (live map, job progress) over Redis pub/sub, surviving a Redis restart.

broadcaster's Redis backend listens on one task; when Redis goes away that task dies and
every subscription of the process goes silent for good. Here the listener waits for Redis
to come back, reconnects (redis-py then subscribes to the same channels again) and carries
on; messages published while Redis was down are lost, as pub/sub never keeps them."""

from __future__ import annotations

import asyncio
import logging

from broadcaster import Broadcast
from broadcaster._backends.redis import RedisBackend

from core.outages import REDIS_DOWN
from core.settings import MEMORY_URL

log = logging.getLogger(__name__)
RECONNECT_EVERY_S = 0.5


class ResilientRedisBackend(RedisBackend):
    async def _pubsub_listener(self) -> None:
        while True:
            try:
                await super()._pubsub_listener()
                return
            except REDIS_DOWN as exc:
                log.warning("broadcast lost Redis, reconnecting: %r", exc)
            while True:
                await asyncio.sleep(RECONNECT_EVERY_S)
                try:
                    await self._pubsub.connect()
                    break
                except REDIS_DOWN:
                    continue
            log.info("broadcast reconnected to Redis")


def create_broadcast(url: str) -> Broadcast:
    if url.startswith(MEMORY_URL):
        return Broadcast(url)
    return Broadcast(backend=ResilientRedisBackend(url))
