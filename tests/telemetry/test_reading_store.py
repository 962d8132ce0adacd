"""The reading stores on both back ends: new data, re-sent data, pending rollup ranges.

On PostgreSQL a batch of new readings is COPied straight into ``readings``; a batch that
collides with stored readings is rolled back and redone as an upsert. Either way every
reading is stored once, the last value wins and ``rollup_pending`` is widened (its
``version`` bumped) in the same transaction.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, now_ms
from gridpilot.telemetry import reading_store
from gridpilot.telemetry.reading_store import SeriesStat, make_store

ASSET, OTHER, METRIC = 7, 8, 3
START = now_ms() // 1000 * 1000 - 2 * MS_PER_HOUR


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"rollup_interval_s": 3600.0}  # no refresh consumes rollup_pending meanwhile


@pytest.fixture
async def store(app):
    store = make_store(app.state.telemetry.engine)
    yield store
    await store.close()


async def table(sessions, sql: str) -> list[tuple]:
    async with sessions() as session:
        return [tuple(row) for row in await session.execute(text(sql))]


async def readings(sessions) -> list[tuple]:
    return await table(
        sessions, "SELECT asset_id, metric_id, ts, value FROM readings ORDER BY 1, 2, 3"
    )


async def pending(sessions) -> dict[tuple[int, int], tuple[int, int, int]]:
    rows = await table(
        sessions, "SELECT asset_id, metric_id, start_ms, end_ms, version FROM rollup_pending"
    )
    return {(a, m): (s, e, v) for a, m, s, e, v in rows}


async def test_new_readings_are_stored_with_their_pending_range(store, sessions):
    rows = {(ASSET, METRIC, START + i * 1000): float(i) for i in range(5)}
    rows[(OTHER, METRIC, START)] = 9.5
    stats = await store.write(rows)
    assert sorted(stats, key=lambda s: s.asset_id) == [
        SeriesStat(ASSET, METRIC, 5, START + 4000, 4.0),
        SeriesStat(OTHER, METRIC, 1, START, 9.5),
    ]
    assert await readings(sessions) == sorted((a, m, t, v) for (a, m, t), v in rows.items())
    ranges = await pending(sessions)
    assert ranges[(ASSET, METRIC)][:2] == (START, START + 4000)
    assert ranges[(OTHER, METRIC)][:2] == (START, START)


async def test_resent_readings_are_stored_once_and_the_last_value_wins(store, sessions, backend):
    first = {(ASSET, METRIC, START + i * 1000): 1.0 for i in range(10)}
    await store.write(first)
    version_before = (await pending(sessions))[(ASSET, METRIC)][2]
    # a retry overlapping the stored readings, with corrections, older and newer readings
    second = {(ASSET, METRIC, START + i * 1000): 2.0 for i in range(-5, 3)}
    second[(ASSET, METRIC, START + 20_000)] = 3.0
    stats = await store.write(second)
    assert stats == [SeriesStat(ASSET, METRIC, 9, START + 20_000, 3.0)]
    stored = {(a, m, t): v for a, m, t, v in await readings(sessions)}
    assert stored == {**first, **second}  # 16 readings, each once; the re-sent values won
    assert len(stored) == 16
    start_ms, end_ms, version = (await pending(sessions))[(ASSET, METRIC)]
    assert (start_ms, end_ms) == (START - 5000, START + 20_000)
    assert version > version_before
    if backend == "postgresql":  # the collision switched the store to the upsert path...
        assert store._upsert_batches > 0
    # ... which stores new readings just as well
    third = {(ASSET, METRIC, START + 30_000): 4.0, (ASSET, METRIC, START): 5.0}
    await store.write(third)
    stored = {(a, m, t): v for a, m, t, v in await readings(sessions)}
    assert stored == {**first, **second, **third}
    assert (await pending(sessions))[(ASSET, METRIC)][:2] == (START - 5000, START + 30_000)


async def test_identical_resend_keeps_values_and_still_bumps_the_pending_version(store, sessions):
    rows = {(ASSET, METRIC, START + i * 1000): 1.5 for i in range(4)}
    await store.write(rows)
    before = (await pending(sessions))[(ASSET, METRIC)]
    stats = await store.write(dict(rows))
    assert stats == [SeriesStat(ASSET, METRIC, 4, START + 3000, 1.5)]
    assert await readings(sessions) == [(a, m, t, v) for (a, m, t), v in sorted(rows.items())]
    after = (await pending(sessions))[(ASSET, METRIC)]
    assert after[:2] == before[:2]
    assert after[2] > before[2]  # a refresh that read the row before this write keeps it


async def test_a_batch_spanning_new_days_creates_their_partitions(store, sessions):
    rows = {(ASSET, METRIC, START - day * MS_PER_DAY): float(day) for day in range(3)}
    await store.write(rows)
    assert len(await readings(sessions)) == 3
    assert (await pending(sessions))[(ASSET, METRIC)][:2] == (START - 2 * MS_PER_DAY, START)


async def test_readings_are_not_stored_when_the_pending_range_cannot_be(
    store, sessions, monkeypatch
):
    broken = "INSERT INTO rollup_pending_missing VALUES (1)"
    monkeypatch.setattr(reading_store, "PG_PENDING_SQL", broken)
    monkeypatch.setattr(reading_store, "SQLITE_PENDING_SQL", broken)
    with pytest.raises(Exception, match="rollup_pending_missing"):
        await store.write({(ASSET, METRIC, START): 1.0})
    assert await readings(sessions) == []  # one transaction: nothing half-written
    monkeypatch.undo()
    await store.write({(ASSET, METRIC, START): 2.0})  # the store recovers
    assert await readings(sessions) == [(ASSET, METRIC, START, 2.0)]


async def test_concurrent_overlapping_batches_from_two_stores_are_stored_once(app, sessions):
    stores = [make_store(app.state.telemetry.engine) for _ in range(2)]
    try:
        batches = [
            {(ASSET, METRIC, START + i * 1000): float(n) for i in range(n * 50, n * 50 + 500)}
            for n in range(2)
        ]
        await asyncio.gather(*(s.write(b) for s, b in zip(stores, batches, strict=True)))
    finally:
        for s in stores:
            await s.close()
    stored = {(a, m, t): v for a, m, t, v in await readings(sessions)}
    assert len(stored) == 550
    overlap = [START + i * 1000 for i in range(50, 500)]
    assert {stored[(ASSET, METRIC, ts)] for ts in overlap} in ({0.0}, {1.0})  # one batch won
    assert (await pending(sessions))[(ASSET, METRIC)][:2] == (START, START + 549_000)
