"""Interval-ending buckets ``(b, b + step]`` (``series(..., ending=True)``) against a reference
computed in Python, on both back ends, before and after the rollup refresh, at any split."""

from __future__ import annotations

import pytest
from tests.telemetry.query_test_data import HOUR, MIN, T0, insert_readings, site_with_asset

from gridpilot.assets.service import find_metric_ref
from gridpilot.core.errors import ValidationFailed
from gridpilot.telemetry.queries import series
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * MIN


def reference(readings, lo, hi, step, agg):
    """Per bucket start b in [lo, hi): the readings in (b, b + step]; register steps from the
    reading before (positive only)."""
    out = {}
    ordered = sorted(readings)
    for b in range(lo, hi, step):
        inside = [(k, ts, v) for k, (ts, v) in enumerate(ordered) if b < ts <= b + step]
        if not inside:
            continue
        values = [v for _, _, v in inside]
        steps = [max(v - ordered[k - 1][1], 0.0) for k, _, v in inside if k > 0]
        out[b] = {
            "avg": sum(values) / len(values),
            "sum": sum(values),
            "count": len(values),
            "delta": sum(steps),
        }[agg]
    return out


async def _points(sessions, asset_id, metric_id, lo, hi, step, agg):
    async with sessions() as session:
        found = await series(
            session=session, asset_id=asset_id, metric_id=metric_id, start_ms=lo, end_ms=hi,
            step_ms=step, agg=agg, max_points=10_000, ending=True,
        )  # fmt: skip
    return {p.ts_ms: p.value for p in found.points}


@pytest.mark.parametrize("agg", ["avg", "sum", "count", "delta"])
@pytest.mark.parametrize(("step", "lo", "hi"), [
    (QUARTER, T0, T0 + 3 * HOUR),
    (HOUR, T0 + HOUR, T0 + 3 * HOUR),
    (QUARTER, T0 + 30 * MIN, T0 + 2 * HOUR + 20 * MIN),  # an end inside a bucket
    (90_000, T0, T0 + HOUR),  # no rollup level divides 90 s: raw only
])  # fmt: skip
async def test_ending_buckets_equal_the_reference_before_and_after_refresh(
    app, client, sessions, auth_headers, agg, step, lo, hi
):
    _, asset, _ = await site_with_asset(client, auth_headers, f"Ending {agg} {step} {lo}")
    async with sessions() as session:
        metric = (await find_metric_ref(session=session, key="energy_kwh")).id
    # a register on the quarter hours (edges) with a reset, readings inside quarters after
    readings = dict((T0 - QUARTER + k * QUARTER, 100.0 + 2.0 * k) for k in range(13))
    readings[T0 + HOUR + 20 * MIN] = 5.0  # a reset
    readings.update((T0 + 165 * MIN + k * 7 * MIN, 130.0 + k) for k in range(1, 5))
    readings[T0 + 3 * HOUR] = 132.5
    readings = sorted(readings.items())
    first, late = readings[:10], readings[10:]
    rows = [(asset["id"], metric, ts, v) for ts, v in first]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    await insert_readings(sessions, [(asset["id"], metric, ts, v) for ts, v in late])
    expected = reference(readings, lo, hi, step, agg)
    pending = await _points(sessions, asset["id"], metric, lo, hi, step, agg)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    rolled = await _points(sessions, asset["id"], metric, lo, hi, step, agg)
    assert set(pending) == set(expected) == set(rolled)
    for b, value in expected.items():
        assert pending[b] == pytest.approx(value), b
        assert rolled[b] == pytest.approx(value), b


async def test_ending_buckets_refuse_min_max_first_last(client, sessions, auth_headers):
    _, asset, _ = await site_with_asset(client, auth_headers, "Ending refusal")
    async with sessions() as session:
        metric = (await find_metric_ref(session=session, key="power_kw")).id
        for agg in ("min", "max", "first", "last"):
            with pytest.raises(ValidationFailed):
                await series(
                    session=session, asset_id=asset["id"], metric_id=metric, start_ms=T0,
                    end_ms=T0 + HOUR, step_ms=QUARTER, agg=agg, max_points=100, ending=True,
                )  # fmt: skip
