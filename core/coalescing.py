"""Concurrent requests to a server answered by one round trip.

Under load the cost of a round trip is mostly its own (a write, a wake-up of the server, a
read), not the work it carries: one statement or script for thirty requests costs little
more than for one. When nothing is out, a `Coalescer` lets the asks that are ready in the
same turn of the event loop join the first (callers that one batch's answers resumed
together, requests read in the same wake-up): together they go as one batch; alone, the
first is asked after that turn, in its caller's task. Requests that arrive while an answer
is out wait, and the next call of `answer` takes them all, up to `max_batch` at a time.
Each caller gets its own answer, or the exception its batch failed with, and one caller
giving up (a client that hung up) does not cancel the others' answer."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Ask = TypeVar("Ask")
Answer = TypeVar("Answer")


class Coalescer(Generic[Ask, Answer]):
    def __init__(
        self, answer: Callable[[list[Ask]], Awaitable[Sequence[Answer]]], *, max_batch: int
    ) -> None:
        """`answer(asks)` returns one answer per ask, in their order."""
        self._answer = answer
        self._max_batch = max_batch
        self._waiting: list[tuple[Ask, asyncio.Future[Answer]]] = []
        self._running: asyncio.Task[None] | None = None
        self._asking = False

    async def ask(self, item: Ask) -> Answer:
        if not self._asking and self._running is None:
            return await self._ask_first(item)
        # A first ask or a drain is out, and takes this one when it is done.
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        # The future is this caller's alone: a caller cancelled while it waits cancels only
        # its own answer, which the batch then skips.
        return await future

    async def _ask_first(self, item: Ask) -> Answer:
        """Nothing out: the asks ready to run in this turn of the loop come first. With
        company, this one heads their batch; alone, it is asked directly (no task, no
        future), and whoever comes meanwhile waits for the batch started when its answer
        is in."""
        self._asking = True
        try:
            await asyncio.sleep(0)
        except BaseException:
            self._handed_over()
            raise
        if self._waiting:
            future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
            self._waiting.insert(0, (item, future))
            self._handed_over()
            return await future
        try:
            return (await self._answer([item]))[0]
        finally:
            self._handed_over()

    def _handed_over(self) -> None:
        """The first ask is done with: those waiting go to the drain."""
        self._asking = False
        if self._waiting and self._running is None:
            self._running = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self._waiting:
                size = self._max_batch
                batch, self._waiting = self._waiting[:size], self._waiting[size:]
                try:
                    answers = await self._answer([item for item, _ in batch])
                    # An answer per ask, or the whole batch fails (no caller left waiting).
                    delivered = list(zip(batch, answers, strict=True))
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                            # Marks it seen: a caller that gave up will not read it.
                            future.exception()
                    continue
                except BaseException:  # this task cancelled: its callers must not wait on
                    for _, future in [*batch, *self._waiting]:
                        future.cancel()
                    self._waiting = []
                    raise
                for (_, future), answer in delivered:
                    if not future.done():
                        future.set_result(answer)
        finally:
            self._running = None
