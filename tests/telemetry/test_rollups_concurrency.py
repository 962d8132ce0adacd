"""A write that lands while a rollup refresh runs is never left out of the rollups."""

from __future__ import annotations

import asyncio

import pytest
from tests.telemetry.query_test_data import (
    HOUR,
    MIN,
    T0,
    insert_readings,
    reference_rollups,
    stored_rollups,
)

from gridpilot.telemetry.rollups import (
    STEPS_MS,
    read_pending,
    recompute,
    refresh_pending,
    settle_pending,
)


async def test_write_during_refresh_stays_pending_and_is_rolled_up_next(app, sessions):
    settings = app.state.settings
    readings = {(1, 1, T0 + i * MIN): float(i) for i in range(10)}
    await insert_readings(sessions, [(*k, v) for k, v in readings.items()])

    async with sessions() as session, session.begin():
        ranges = await read_pending(session, limit=100)
        assert [(r.asset_id, r.metric_id) for r in ranges] == [(1, 1)]
        # another writer stores a reading inside the same range and commits meanwhile
        late = {(1, 1, T0 + 5 * MIN + 1_000): 500.0}
        await insert_readings(sessions, [(*k, v) for k, v in late.items()])
        await recompute(session=session, ranges=ranges, settings=settings)
        await settle_pending(session, ranges)

    async with sessions() as session:
        still_pending = await read_pending(session, limit=100)
    assert [(r.asset_id, r.metric_id) for r in still_pending] == [(1, 1)]

    assert await refresh_pending(sessions=sessions, settings=settings) == 1
    readings.update(late)
    stored = await stored_rollups(sessions)
    expected = reference_rollups(readings, list(STEPS_MS.values()))
    assert stored[(1, 1, HOUR, T0)][:3] == expected[(1, 1, HOUR, T0)][:3] == (11, 0.0, 500.0)
    async with sessions() as session:
        assert await read_pending(session, limit=100) == []


async def test_unchanged_pending_row_is_settled(app, sessions):
    await insert_readings(sessions, [(1, 1, T0, 1.0), (1, 1, T0 + MIN, 2.0)])
    async with sessions() as session, session.begin():
        ranges = await read_pending(session, limit=100)
        await recompute(session=session, ranges=ranges, settings=app.state.settings)
        await settle_pending(session, ranges)
    async with sessions() as session:
        assert await read_pending(session, limit=100) == []


async def test_refreshes_started_together_give_the_rollups_of_one(app, sessions):
    """Two refreshes at once (a backfill and the rollup loop, two workers) never collide."""
    settings = app.state.settings
    readings = {
        (asset, 1, T0 + i * 20_000): float(asset * i % 97)
        for asset in range(1, 41)
        for i in range(90)
    }
    await insert_readings(sessions, [(*k, v) for k, v in readings.items()])

    done = await asyncio.gather(
        *(refresh_pending(sessions=sessions, settings=settings) for _ in range(3))
    )

    assert sum(done) >= 40  # every series refreshed at least once, whoever did it
    stored = await stored_rollups(sessions)
    expected = reference_rollups(readings, list(STEPS_MS.values()))
    assert stored == expected
    async with sessions() as session:
        assert await read_pending(session, limit=100) == []


async def test_a_refresh_rolled_back_leaves_the_rollups_as_they_were(app, sessions):
    """Recomputing is one transaction on both back ends: an error half way undoes all of it."""
    settings = app.state.settings
    await insert_readings(sessions, [(1, 1, T0 + i * MIN, float(i)) for i in range(10)])
    await refresh_pending(sessions=sessions, settings=settings)
    before = await stored_rollups(sessions)
    await insert_readings(sessions, [(1, 1, T0 + 3 * MIN, 900.0)])

    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        async with sessions() as session, session.begin():
            ranges = await read_pending(session, limit=100)
            await recompute(session=session, ranges=ranges, settings=settings)
            raise Abort

    assert await stored_rollups(sessions) == before
