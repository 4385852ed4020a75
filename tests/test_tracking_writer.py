"""The position writer: positions handed over are stored by one flush, and stopping the
writer stores what is still waiting before it returns."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg

from core.db import Database, create_engine
from core.events import InMemoryBus
from services.tracking.writer import Position, PositionWriter, Stored
from tests.conftest import DatabaseUnderTest


async def _vehicle(owner: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    workspace, org, vehicle = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('app.current_workspace_id', $1, true), set_config('app.current_organization_id', $2, true)",
            str(workspace),
            str(org),
        )
        await owner.execute(
            "INSERT INTO organizations (id, name, slug) VALUES ($1, 'O', $2)",
            org,
            f"o-{org.hex[:6]}",
        )
        await owner.execute(
            "INSERT INTO workspaces (id, organization_id, name, region) VALUES ($1, $2, 'W', 'eu-west')",
            workspace,
            org,
        )
        await owner.execute(
            "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number) VALUES ($1, $2, 'van', 'W-1')",
            vehicle,
            workspace,
        )
    return workspace, vehicle


async def _count(owner: asyncpg.Connection, workspace: uuid.UUID) -> int:
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace)
        )
        return int(await owner.fetchval("SELECT count(*) FROM live_vehicle_positions"))


async def test_stop_flushes_what_is_waiting(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    workspace, vehicle = await _vehicle(owner_conn)
    engine = create_engine(database.settings)
    db = Database(engine, InMemoryBus())
    flushed: list[int] = []

    async def after(stored: object) -> None:
        flushed.append(len(stored.positions))  # type: ignore[attr-defined]

    # A long gathering delay: nothing would be written for a minute without the stop.
    writer = PositionWriter(db, after_flush=after, max_delay_s=60)
    await writer.start()
    base = datetime.now(UTC) - timedelta(minutes=5)
    waiting = [
        asyncio.create_task(
            writer.write(
                workspace,
                [
                    Position(vehicle, base + timedelta(seconds=n * 10 + k), 77.5, 12.9)
                    for k in range(3)
                ],
            )
        )
        for n in range(10)
    ]
    await asyncio.sleep(0.2)
    assert await _count(owner_conn, workspace) == 0
    await writer.stop()
    results = await asyncio.gather(*waiting)
    await engine.dispose()
    assert await _count(owner_conn, workspace) == 30
    assert flushed == [30]  # one flush, one insert for the workspace
    assert all(not r.stored.duplicates and not r.refused for r in results)


async def test_the_feed_takes_what_piled_up_while_it_was_busy(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    workspace, vehicle = await _vehicle(owner_conn)
    engine = create_engine(database.settings)
    db = Database(engine, InMemoryBus())
    seen: list[int] = []

    async def slow_feed(stored: Stored) -> None:
        seen.append(len(stored.positions))
        await asyncio.sleep(0.3)

    writer = PositionWriter(db, after_flush=slow_feed, max_delay_s=0.001)
    await writer.start()
    base = datetime.now(UTC) - timedelta(minutes=5)
    for n in range(5):  # one flush each: every write waits for its commit
        await writer.write(workspace, [Position(vehicle, base + timedelta(seconds=n), 77.5, 12.9)])
    await writer.stop()
    await engine.dispose()
    # The flushes that came while the feed was busy reached it together, none lost.
    assert sum(seen) == 5
    assert len(seen) < 5


async def _more_vehicles(
    owner: asyncpg.Connection, workspace: uuid.UUID, n: int
) -> list[uuid.UUID]:
    ids = [uuid.uuid4() for _ in range(n)]
    async with owner.transaction():
        await owner.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace)
        )
        await owner.executemany(
            "INSERT INTO vehicles (id, workspace_id, vehicle_type, plate_number) VALUES ($1, $2, 'van', $3)",
            [(v, workspace, f"P-{k}") for k, v in enumerate(ids)],
        )
    return ids


async def test_overlapping_batches_from_two_processes_store_all_and_move_to_the_newest(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    """Two writers (two API processes), each running flushes side by side, over the same
    vehicles in shuffled time order: nothing deadlocks or is lost, every vehicle ends at
    its newest position, and each feed sees a vehicle's moves only go forward."""
    workspace, first = await _vehicle(owner_conn)
    vehicles = [first, *await _more_vehicles(owner_conn, workspace, 4)]
    engines = [create_engine(database.settings) for _ in range(2)]
    moves: list[dict[uuid.UUID, list[datetime]]] = [{}, {}]

    def recorder(seen: dict[uuid.UUID, list[datetime]]) -> Callable[[Stored], Awaitable[None]]:
        async def after(stored: Stored) -> None:
            for vehicle_id, at in stored.moved.items():
                seen.setdefault(vehicle_id, []).append(at)

        return after

    writers = [
        PositionWriter(
            Database(engine, InMemoryBus()),
            after_flush=recorder(seen),
            max_delay_s=0.001,
            parallel_from=50,
        )
        for engine, seen in zip(engines, moves, strict=True)
    ]
    for writer in writers:
        await writer.start()
    base = datetime.now(UTC) - timedelta(minutes=30)
    seconds = list(range(1200))
    random.Random(7).shuffle(seconds)
    batches = [seconds[k : k + 100] for k in range(0, len(seconds), 100)]
    results = await asyncio.gather(
        *(
            writers[n % 2].write(
                workspace,
                [
                    Position(vehicles[s % len(vehicles)], base + timedelta(seconds=s), 77.5, 12.9)
                    for s in batch
                ],
            )
            for n, batch in enumerate(batches)
        )
    )
    for writer in writers:
        await writer.stop()
    for engine in engines:
        await engine.dispose()

    assert all(not r.refused and not r.stored.duplicates for r in results)
    assert await _count(owner_conn, workspace) == 1200
    async with owner_conn.transaction():
        await owner_conn.execute(
            "SELECT set_config('app.current_workspace_id', $1, true)", str(workspace)
        )
        latest = dict(
            await owner_conn.fetch(
                "SELECT id, last_location_at FROM vehicles WHERE id = ANY($1::uuid[])", vehicles
            )
        )
    for k, vehicle in enumerate(vehicles):
        newest = max(s for s in seconds if s % len(vehicles) == k)
        assert latest[vehicle] == base + timedelta(seconds=newest)
    for seen in moves:
        for times in seen.values():
            assert times == sorted(times)


async def test_a_batch_repeating_stored_positions_names_exactly_those(
    database: DatabaseUnderTest, owner_conn: asyncpg.Connection
) -> None:
    workspace, vehicle = await _vehicle(owner_conn)
    engine = create_engine(database.settings)
    writer = PositionWriter(Database(engine, InMemoryBus()), max_delay_s=0.001)
    await writer.start()
    base = datetime.now(UTC) - timedelta(minutes=10)
    first = [Position(vehicle, base + timedelta(seconds=s), 77.5, 12.9) for s in range(3)]
    await writer.write(workspace, first)
    again = [
        first[0],
        first[2],
        *(Position(vehicle, base + timedelta(seconds=s), 77.6, 12.9) for s in (5, 6)),
    ]
    written = await writer.write(workspace, again)
    await writer.stop()
    await engine.dispose()
    assert written.stored.duplicates == {
        (vehicle, first[0].recorded_at),
        (vehicle, first[2].recorded_at),
    }
    assert [written.is_new(p) for p in again] == [False, False, True, True]
    assert await _count(owner_conn, workspace) == 5
