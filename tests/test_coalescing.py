"""core.coalescing: concurrent asks share round trips, and each caller keeps its own answer,
its own failure and its own cancellation."""

from __future__ import annotations

import asyncio

import pytest

from core.coalescing import Coalescer


class Server:
    """Answers each ask with its double, one round trip per call, held open until released."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []
        self.release = asyncio.Event()
        self.fail_with: Exception | None = None

    async def answer(self, asks: list[int]) -> list[int]:
        self.calls.append(list(asks))
        await self.release.wait()
        if self.fail_with is not None and len(self.calls) > 1:
            raise self.fail_with
        return [2 * ask for ask in asks]


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_lone_ask_goes_alone_and_those_arriving_meanwhile_go_together() -> None:
    server = Server()
    batches = Coalescer(server.answer, max_batch=3)
    first = asyncio.create_task(batches.ask(1))
    await settle()
    rest = [asyncio.create_task(batches.ask(n)) for n in range(2, 9)]
    await settle()
    assert server.calls == [[1]]  # the others wait for that answer
    server.release.set()
    assert await first == 2
    assert await asyncio.gather(*rest) == [4, 6, 8, 10, 12, 14, 16]
    assert server.calls == [[1], [2, 3, 4], [5, 6, 7], [8]]
    assert await batches.ask(9) == 18  # idle again: straight through
    assert server.calls[-1] == [9]


async def test_asks_ready_in_the_same_turn_go_together() -> None:
    """The callers one batch's answers resume run in one turn of the loop: their next asks
    share a round trip instead of the first going alone and the others waiting for it."""
    server = Server()
    server.release.set()
    batches = Coalescer(server.answer, max_batch=4)
    together = [asyncio.create_task(batches.ask(n)) for n in range(1, 7)]
    assert await asyncio.gather(*together) == [2, 4, 6, 8, 10, 12]
    assert server.calls == [[1, 2, 3, 4], [5, 6]]


async def test_a_first_ask_cancelled_before_its_turn_leaves_the_others_their_batch() -> None:
    server = Server()
    server.release.set()
    batches = Coalescer(server.answer, max_batch=4)
    first = asyncio.create_task(batches.ask(1))
    await asyncio.sleep(0)  # the first has yielded its turn
    second = asyncio.create_task(batches.ask(2))
    first.cancel()
    assert await second == 4
    assert first.cancelled()
    assert server.calls == [[2]]


async def test_a_failed_batch_fails_its_own_callers_only() -> None:
    server = Server()
    server.fail_with = ConnectionError("lost")
    batches = Coalescer(server.answer, max_batch=10)
    first = asyncio.create_task(batches.ask(1))
    await settle()
    waiting = [asyncio.create_task(batches.ask(n)) for n in (2, 3)]
    await settle()
    server.release.set()
    assert await first == 2
    for task in waiting:
        with pytest.raises(ConnectionError):
            await task
    server.fail_with = None
    assert await batches.ask(4) == 8


async def test_a_caller_that_gives_up_does_not_cancel_the_others() -> None:
    server = Server()
    batches = Coalescer(server.answer, max_batch=10)
    first = asyncio.create_task(batches.ask(1))
    await settle()
    leaving, staying = asyncio.create_task(batches.ask(2)), asyncio.create_task(batches.ask(3))
    await settle()
    leaving.cancel()
    server.release.set()
    assert await first == 2
    assert await staying == 6
    assert leaving.cancelled()
    server.release.clear()
    alone = asyncio.create_task(batches.ask(5))
    await settle()
    alone.cancel()  # cancelled in its own round trip: the next ask is not stuck behind it
    with pytest.raises(asyncio.CancelledError):
        await alone
    server.release.set()
    assert await batches.ask(6) == 12


async def test_a_wrong_number_of_answers_fails_the_batch_instead_of_hanging() -> None:
    server = Server()
    batches: Coalescer[int, int] = Coalescer(server.answer, max_batch=10)
    first = asyncio.create_task(batches.ask(1))
    await settle()
    waiting = [asyncio.create_task(batches.ask(n)) for n in (2, 3)]
    await settle()

    async def short(asks: list[int]) -> list[int]:
        return [2 * ask for ask in asks][:-1]

    batches._answer = short  # answers for all but the last ask
    server.release.set()
    assert await first == 2
    for task in waiting:
        with pytest.raises(ValueError, match="shorter"):
            await asyncio.wait_for(task, 5)
