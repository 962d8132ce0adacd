"""A write that lands while a rollup refresh runs is never left out of the rollups."""

from __future__ import annotations

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
