"""One Lua script called over a Redis connection of its own, its commands packed by the
caller.

For a hot script called in batches (core.admission), redis-py's general path costs more than
the round trip: it encodes each of a batch's hundreds of arguments anew, and takes a
connection from the pool, under a lock, checking it for unread data, on every call. A
`ScriptChannel` keeps one connection, opened with the client's settings (URL, credentials,
TLS, timeouts, health checks), and sends arguments its caller has already written in the
wire format (`Packed`), most of them cached per caller.

Failures are the connection's own: a read or write that fails or times out closes it
(redis.exceptions.ConnectionError or TimeoutError) and the next call opens it again. A
command is never sent twice, since a script that was run but whose reply was lost must not
charge again; instead, as the pool does, a connection that sat idle is looked at before it
carries a command, and replaced if the server closed it meanwhile (a restart, the server's
idle timeout). Under load it is never idle, and not looked at."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

# Idle longer than this, the connection is looked at before its next command.
IDLE_CHECK_S = 1.0


def bulk(value: str | int) -> bytes:
    """`value` as a RESP bulk string, the form of every command argument."""
    data = value.encode() if isinstance(value, str) else b"%d" % value
    return b"$%d\r\n%s\r\n" % (len(data), data)


@dataclass(frozen=True, slots=True)
class Packed:
    """Command arguments in the wire format: `count` bulk strings, concatenated."""

    data: bytes
    count: int

    @classmethod
    def of(cls, *values: str | int) -> Packed:
        return cls(b"".join(map(bulk, values)), len(values))


class ScriptChannel:
    """Calls one at a time: the connection carries one command and its reply."""

    def __init__(self, redis: Redis, source: str, *, idle_check_s: float = IDLE_CHECK_S) -> None:
        digest = hashlib.sha1(source.encode(), usedforsecurity=False).hexdigest()
        self._by_hash = bulk("EVALSHA") + bulk(digest)
        self._by_source = bulk("EVAL") + bulk(source)
        self._connection = redis.connection_pool.make_connection()
        self._idle_check_s = idle_check_s
        self._last_used = 0.0
        self._busy = False

    async def __call__(self, keys: Sequence[Packed], args: Sequence[Packed]) -> Any:
        """The script's reply to KEYS `keys` and ARGV `args`, in their order."""
        if self._busy:
            raise RuntimeError("a ScriptChannel carries one call at a time")
        self._busy = True
        try:
            await self._replace_if_closed()
            try:
                return await self._send(self._by_hash, keys, args)
            except NoScriptError:  # a new or flushed server: the source once, then its hash
                return await self._send(self._by_source, keys, args)
        finally:
            self._busy = False
            self._last_used = time.monotonic()

    async def _replace_if_closed(self) -> None:
        connection = self._connection
        if not connection.is_connected:
            return  # opened by the send
        if time.monotonic() - self._last_used < self._idle_check_s:
            return
        try:
            # True: unexpected bytes; a closed connection raises (and is disconnected).
            unusable = await connection.can_read_destructive()
        except (RedisConnectionError, OSError):
            unusable = True
        if unusable:
            await connection.disconnect()

    async def _send(self, script: bytes, keys: Sequence[Packed], args: Sequence[Packed]) -> Any:
        """`script`: the command and its first argument (EVALSHA and the hash, or EVAL and
        the source)."""
        key_count = sum(k.count for k in keys)
        head = b"*%d\r\n%s%s" % (
            3 + key_count + sum(a.count for a in args),
            script,
            bulk(key_count),
        )
        await self._connection.send_packed_command(
            [head, *(k.data for k in keys), *(a.data for a in args)]
        )
        return await self._connection.read_response()

    async def aclose(self) -> None:
        await self._connection.disconnect()
