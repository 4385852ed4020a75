"""One Lua script called over a Redis connection of its own, its commands packed by the
caller.

For a hot script called in batches (core.admission), redis-py's general path costs more than
the round trip: it encodes each of a batch's hundreds of arguments anew and takes a
connection from the pool, under a lock, checking it for unread data, on every call. A
`ScriptChannel` keeps one connection, opened with the pool's settings (URL, credentials, TLS,
timeouts, health checks), and sends arguments its caller has already written in the wire
format, most of them cached per caller. The connection's own error handling is kept:
a read or write that fails or times out closes it (redis.exceptions.ConnectionError or
TimeoutError), and the next call opens it again. As the pool would, a connection the
server closed while it sat idle (a restart, the server's idle timeout) is replaced: a call
that fails with a ConnectionError on a connection opened before it is made once more, on a
new one."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError


def bulk(value: str | int) -> bytes:
    """`value` as a RESP bulk string, the form of every command argument."""
    data = value.encode() if isinstance(value, str) else b"%d" % value
    return b"$%d\r\n%s\r\n" % (len(data), data)


class ScriptChannel:
    """Calls one at a time: the connection carries one command and its reply."""

    def __init__(self, redis: Redis, source: str) -> None:
        self._by_hash = bulk("EVALSHA") + bulk(
            hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        )
        self._by_source = bulk("EVAL") + bulk(source)
        self._connection = redis.connection_pool.make_connection()
        self._busy = False

    async def __call__(
        self, keys: Sequence[bytes], key_count: int, args: Sequence[bytes], arg_count: int
    ) -> Any:
        """The script's reply to KEYS `keys` and ARGV `args`, each a concatenation of `bulk`
        strings (`key_count` and `arg_count` of them)."""
        if self._busy:
            raise RuntimeError("a ScriptChannel carries one call at a time")
        self._busy = True
        opened_before = self._connection.is_connected
        try:
            try:
                return await self._call(keys, key_count, args, arg_count)
            except RedisConnectionError:
                if not opened_before:
                    raise
                return await self._call(keys, key_count, args, arg_count)
        finally:
            self._busy = False

    async def _call(
        self, keys: Sequence[bytes], key_count: int, args: Sequence[bytes], arg_count: int
    ) -> Any:
        try:
            return await self._send(self._by_hash, keys, key_count, args, arg_count)
        except NoScriptError:  # a new or flushed server: the source once, then its hash
            return await self._send(self._by_source, keys, key_count, args, arg_count)

    async def _send(
        self,
        script: bytes,
        keys: Sequence[bytes],
        key_count: int,
        args: Sequence[bytes],
        arg_count: int,
    ) -> Any:
        """`script`: the command and its first argument (EVALSHA and the hash, or EVAL and
        the source)."""
        head = b"*%d\r\n%s%s" % (3 + key_count + arg_count, script, bulk(key_count))
        await self._connection.send_packed_command([head, *keys, *args])
        return await self._connection.read_response()

    async def aclose(self) -> None:
        await self._connection.disconnect()
