"""core.script_channel: a Lua script over a Redis connection of its own answers as EVALSHA
would, loads itself into a server that lost it, replaces an idle connection the server
closed, and says so when Redis cannot be reached."""

from __future__ import annotations

import asyncio
import hashlib
import uuid

import pytest
from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from core.redis import create_redis
from core.script_channel import Packed, ScriptChannel
from tests.conftest import TEST_REDIS_URL
from tests.served_app import free_port

# Echoes what it was given, so that a test sees the packing as the server read it.
SCRIPT = "return {#KEYS, #ARGV, KEYS[1], KEYS[#KEYS], ARGV[1], ARGV[#ARGV]}"
EXPECTED = [2, 3, b"rl:one", b"rl:two \xc3\xa9", b"60000", b"last"]


async def call(channel: ScriptChannel) -> object:
    # Keys and arguments split over several chunks, as a batch sends them.
    return await channel(
        [Packed.of("rl:one"), Packed.of("rl:two é")], [Packed.of(60_000, 7), Packed.of("last")]
    )


async def test_a_call_answers_as_the_script_would(redis: Redis) -> None:
    channel = ScriptChannel(redis, SCRIPT)
    try:
        assert await call(channel) == EXPECTED
        assert await call(channel) == EXPECTED
    finally:
        await channel.aclose()


async def test_a_server_that_lost_the_script_is_sent_its_source(redis: Redis) -> None:
    digest = hashlib.sha1(SCRIPT.encode(), usedforsecurity=False).hexdigest()
    channel = ScriptChannel(redis, SCRIPT)
    try:
        await redis.script_flush()
        assert await call(channel) == EXPECTED
        assert await redis.script_exists(digest) == [True]
    finally:
        await channel.aclose()


async def test_an_idle_connection_the_server_closed_is_replaced(redis: Redis) -> None:
    # The channel's connection takes its client's settings, its name among them.
    name = f"script-channel-{uuid.uuid4().hex[:12]}"
    named = Redis(connection_pool=ConnectionPool.from_url(TEST_REDIS_URL, client_name=name))
    channel = ScriptChannel(named, SCRIPT, idle_check_s=0.02)
    try:
        assert await call(channel) == EXPECTED
        ids = [c["id"] for c in await redis.client_list() if c["name"] == name]
        assert len(ids) == 1
        await redis.client_kill_filter(_id=ids[0])
        await asyncio.sleep(0.05)  # the close reaches this side
        assert await call(channel) == EXPECTED
        assert [c["id"] for c in await redis.client_list() if c["name"] == name] != ids
    finally:
        await channel.aclose()
        await named.aclose()


async def test_a_command_is_never_sent_twice(redis: Redis) -> None:
    """A script that ran but whose reply was lost must not run again (it would charge twice):
    on a connection lost while in use the call fails, and the next one opens a new one."""
    name = f"script-channel-{uuid.uuid4().hex[:12]}"
    named = Redis(connection_pool=ConnectionPool.from_url(TEST_REDIS_URL, client_name=name))
    channel = ScriptChannel(named, SCRIPT, idle_check_s=60)
    try:
        assert await call(channel) == EXPECTED
        (killed,) = [c["id"] for c in await redis.client_list() if c["name"] == name]
        await redis.client_kill_filter(_id=killed)
        await asyncio.sleep(0.05)
        with pytest.raises(RedisConnectionError):
            await call(channel)
        assert await call(channel) == EXPECTED
    finally:
        await channel.aclose()
        await named.aclose()


async def test_an_unreachable_server_is_a_connection_error() -> None:
    unreachable = create_redis(f"redis://127.0.0.1:{free_port()}/0")
    channel = ScriptChannel(unreachable, SCRIPT)
    try:
        with pytest.raises(RedisConnectionError):
            await call(channel)
    finally:
        await channel.aclose()
        await unreachable.aclose()


async def test_a_second_call_while_one_is_out_is_refused(redis: Redis) -> None:
    channel = ScriptChannel(redis, SCRIPT)
    try:
        first, second = await asyncio.gather(call(channel), call(channel), return_exceptions=True)
        assert first == EXPECTED
        assert isinstance(second, RuntimeError)
        assert await call(channel) == EXPECTED  # and the channel is still usable
    finally:
        await channel.aclose()
