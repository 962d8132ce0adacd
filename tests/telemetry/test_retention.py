"""Retention removes raw readings and rollups past their horizon and keeps the rest."""

from __future__ import annotations

from sqlalchemy import text
from tests.telemetry.query_test_data import DAY, HOUR, MIN, T0, insert_readings, stored_rollups

from gridpilot.telemetry.retention import _raw_cutoff, apply_retention, retention_cutoff

OLD, RECENT = T0 + 2 * DAY, T0 + 35 * DAY


async def count_readings(sessions) -> dict[int, int]:
    async with sessions() as session:
        rows = await session.execute(
            text(f"SELECT ts / {DAY}, COUNT(*) FROM readings GROUP BY ts / {DAY}")
        )
        return {int(day) * DAY: int(n) for day, n in rows}


def rollup_days(rollups: dict, step: int) -> set[int]:
    return {key[3] - key[3] % DAY for key in rollups if key[2] == step}


async def test_retention_drops_old_raw_and_rollups_level_by_level(app, sessions, backend):
    settings = app.state.settings.model_copy(
        update={"retention_raw_days": 30, "retention_1m_days": 30, "retention_15m_days": 365,
                "retention_1h_days": 1000, "retention_1d_days": None}
    )  # fmt: skip
    old = [(1, 1, OLD + i * MIN, float(i)) for i in range(90)]
    recent = [(1, 1, RECENT + i * MIN, float(i)) for i in range(90)]
    await insert_readings(sessions, old + recent)  # pending, never refreshed before retention

    report = await apply_retention(sessions=sessions, settings=settings, now_ms=T0 + 40 * DAY)
    assert report.series_refreshed == 1  # rolled up before any raw reading went
    assert report.raw_cutoff_ms == T0 + 10 * DAY
    assert await count_readings(sessions) == {RECENT: 90}
    if backend == "postgresql":
        # other tests' older partitions may go too; nothing from the cutoff day (01-15) onwards
        assert "readings_p20260107" in report.partitions_dropped
        assert all(name < "readings_p20260115" for name in report.partitions_dropped)
    else:
        assert report.partitions_dropped == [] and report.raw_rows_deleted == 90
    rollups = await stored_rollups(sessions)
    assert rollup_days(rollups, MIN) == {RECENT}
    assert rollup_days(rollups, 15 * MIN) == {OLD, RECENT}
    assert rollups[(1, 1, HOUR, OLD)][:4] == (60, 0.0, 59.0, sum(range(60)))
    assert report.rollups_deleted == {"1m": 90, "15m": 0, "1h": 0, "1d": 0}

    report = await apply_retention(sessions=sessions, settings=settings, now_ms=T0 + 401 * DAY)
    rollups = await stored_rollups(sessions)
    assert await count_readings(sessions) == {}
    assert rollup_days(rollups, MIN) == set() and rollup_days(rollups, 15 * MIN) == set()
    assert rollup_days(rollups, HOUR) == {OLD, RECENT}
    assert rollup_days(rollups, DAY) == {OLD, RECENT}
    assert report.rollups_deleted["15m"] == 12 and report.rollup_cutoffs_ms["1d"] is None


async def test_nothing_is_removed_when_everything_is_kept(app, sessions):
    settings = app.state.settings.model_copy(
        update={f"retention_{level}_days": None for level in ("raw", "1m", "15m", "1h", "1d")}
    )
    await insert_readings(sessions, [(2, 1, OLD, 1.0)])
    report = await apply_retention(sessions=sessions, settings=settings, now_ms=T0 + 9999 * DAY)
    assert not report.removed_anything and report.raw_cutoff_ms is None
    assert await count_readings(sessions) == {OLD: 1}


async def test_pending_rollup_range_holds_back_the_raw_cutoff(app, sessions):
    await insert_readings(sessions, [(3, 1, OLD + 5 * HOUR, 1.0)])
    async with sessions() as session:
        assert await _raw_cutoff(session, T0 + 10 * DAY) == OLD
        assert await _raw_cutoff(session, T0) == T0


def test_cutoffs_are_utc_midnights():
    assert retention_cutoff(None, T0) is None
    assert retention_cutoff(30, T0 + 40 * DAY + 5 * HOUR) == T0 + 10 * DAY
