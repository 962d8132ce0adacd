"""Rollups: late and out-of-order data give exactly the from-scratch rollups; counter resets."""

from __future__ import annotations

import random

import pytest
from tests.telemetry.query_test_data import (
    DAY,
    HOUR,
    MIN,
    T0,
    insert_readings,
    reference_rollups,
    stored_rollups,
)

from gridpilot.core.settings import Settings
from gridpilot.telemetry.rollups import STEPS_MS, refresh_pending, rollup_sources

STEPS = list(STEPS_MS.values())


def assert_same_rollups(stored: dict, expected: dict) -> None:
    assert stored.keys() == expected.keys()
    for key, want in expected.items():
        got = stored[key]
        assert got[0] == want[0], key  # count
        assert got[1:3] == pytest.approx(want[1:3]), key  # min, max
        assert got[3] == pytest.approx(want[3], rel=1e-9, abs=1e-9), key  # sum
        assert got[4:8] == (want[4], want[5], want[6], want[7]), key  # first, last, ts
        assert got[8] == pytest.approx(want[8], rel=1e-9, abs=1e-9), key  # energy


async def test_late_data_updates_every_level(app, sessions):
    settings = app.state.settings
    readings = {(1, 1, T0 + i * MIN): float(i) for i in range(60)}  # 10 kW... 0..59 over an hour
    await insert_readings(sessions, [(*k, v) for k, v in readings.items()])
    assert await refresh_pending(sessions=sessions, settings=settings) == 1
    before = await stored_rollups(sessions)
    assert before[(1, 1, HOUR, T0)][:4] == (60, 0.0, 59.0, sum(range(60)))

    late = {(1, 1, T0 + 30 * MIN + 30_000): 100.0, (1, 1, T0 + 2 * HOUR): 7.0}
    await insert_readings(sessions, [(*k, v) for k, v in late.items()])
    assert await refresh_pending(sessions=sessions, settings=settings) == 1
    after = await stored_rollups(sessions)
    readings.update(late)
    assert_same_rollups(after, reference_rollups(readings, STEPS))
    assert after[(1, 1, HOUR, T0)][:4] == (61, 0.0, 100.0, sum(range(60)) + 100.0)
    # the 1-min bucket after the late reading gets the step from it (31 - 100 is a drop: 0)
    assert after[(1, 1, MIN, T0 + 31 * MIN)][8] == 0.0
    assert after[(1, 1, DAY, T0)][0] == 62
    assert await refresh_pending(sessions=sessions, settings=settings) == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_out_of_order_batches_match_from_scratch(app, sessions, seed):
    """Random readings in random order and batches, refreshed in between, equal a fresh compute."""
    rng = random.Random(seed)
    settings = app.state.settings
    readings: dict[tuple[int, int, int], float] = {}
    batches = []
    for _ in range(8):
        batch = []
        for _ in range(rng.randint(5, 60)):
            asset, metric = rng.choice([(1, 1), (1, 2), (2, 1)])
            ts = T0 + rng.choice(
                [rng.randrange(0, 3 * DAY), rng.randrange(0, 3 * DAY) // MIN * MIN, DAY, HOUR]
            )
            value = round(rng.uniform(-5, 500), 3)
            batch.append((asset, metric, ts, value))
        batches.append(batch)
    for batch in batches:
        rng.shuffle(batch)
        await insert_readings(sessions, batch)
        for a, m, ts, v in batch:  # last write wins, as in the upsert
            readings[(a, m, ts)] = v
        if rng.random() < 0.6:
            await refresh_pending(sessions=sessions, settings=settings)
            assert_same_rollups(await stored_rollups(sessions), reference_rollups(readings, STEPS))
    await refresh_pending(sessions=sessions, settings=settings)
    assert_same_rollups(await stored_rollups(sessions), reference_rollups(readings, STEPS))


async def test_coarse_levels_from_raw_when_finer_level_is_kept_shorter(app, sessions):
    settings = app.state.settings.model_copy(
        update={"retention_raw_days": 30, "retention_1m_days": 7, "retention_15m_days": 7}
    )
    assert rollup_sources(settings) == {
        STEPS_MS["1m"]: None,
        STEPS_MS["15m"]: None,
        STEPS_MS["1h"]: None,
        STEPS_MS["1d"]: STEPS_MS["1h"],
    }
    readings = {(3, 1, T0 + i * 7 * MIN): float(i % 13) for i in range(300)}
    await insert_readings(sessions, [(*k, v) for k, v in readings.items()])
    await refresh_pending(sessions=sessions, settings=settings)
    assert_same_rollups(await stored_rollups(sessions), reference_rollups(readings, STEPS))


def test_default_sources_cascade_level_by_level():
    assert rollup_sources(Settings()) == {
        STEPS_MS["1m"]: None,
        STEPS_MS["15m"]: STEPS_MS["1m"],
        STEPS_MS["1h"]: STEPS_MS["15m"],
        STEPS_MS["1d"]: STEPS_MS["1h"],
    }


async def test_counter_reset_contributes_nothing(app, sessions):
    """Register 100, 105 | reset to 2, 4, 10: energy 5 + 0 + 2 + 6; the value 2 is not energy."""
    register = [(T0, 100.0), (T0 + MIN, 105.0), (T0 + 2 * MIN, 2.0), (T0 + 3 * MIN, 4.0)]
    register.append((T0 + HOUR + 5 * MIN, 10.0))
    await insert_readings(sessions, [(4, 2, ts, v) for ts, v in register])
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    stored = await stored_rollups(sessions)
    energy = {key[3]: value[8] for key, value in stored.items() if key[2] == MIN}
    assert energy == {T0: 0.0, T0 + MIN: 5.0, T0 + 2 * MIN: 0.0, T0 + 3 * MIN: 2.0,
                      T0 + HOUR + 5 * MIN: 6.0}  # fmt: skip
    assert stored[(4, 2, HOUR, T0)][8] == 7.0
    assert stored[(4, 2, HOUR, T0 + HOUR)][8] == 6.0  # the step into the hour belongs to it
    assert stored[(4, 2, DAY, T0)][8] == 13.0
