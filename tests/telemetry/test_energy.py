"""Energy: register deltas with resets, power integral not bridging gaps, coverage; the route."""

from __future__ import annotations

import random

import pytest
from tests.telemetry.query_test_data import (
    HOUR,
    MIN,
    T0,
    insert_readings,
    metric_id,
    site_with_asset,
)

from gridpilot.core.timestamps import iso
from gridpilot.telemetry.energy import coverage, power_integral, register_energy
from gridpilot.telemetry.rollups import refresh_pending

START, END = T0 + HOUR, T0 + 2 * HOUR


def test_register_sums_positive_steps_and_skips_a_reset():
    readings = [
        (START - 10 * MIN, 50.0),  # the reading before the period: its step into the period counts
        (START + 5 * MIN, 55.0),  # +5
        (START + 20 * MIN, 60.0),  # +5
        (START + 30 * MIN, 3.0),  # reset: 0, and the 3 kWh after the reset are not counted
        (START + 40 * MIN, 5.0),  # +2
        (END, 100.0),  # not in [start, end)
    ]
    fold = register_energy(readings, START, END)
    assert fold.energy_kwh == pytest.approx(12.0)
    assert fold.resets == 1
    assert fold.covered_ms == 40 * MIN  # from start (reading before it) to the last reading
    assert coverage(fold.covered_ms, START, END) == pytest.approx(40 / 60)


def test_register_without_reading_before_the_period_starts_at_the_first_reading():
    fold = register_energy([(START + 15 * MIN, 10.0), (START + 45 * MIN, 12.5)], START, END)
    assert fold.energy_kwh == pytest.approx(2.5)
    assert fold.covered_ms == 30 * MIN


def test_power_integral_is_trapezoidal_clipped_and_does_not_bridge_gaps():
    readings = [
        (T0, 10.0),
        (T0 + 10 * MIN, 20.0),
        (T0 + 20 * MIN, 20.0),
        (T0 + 60 * MIN, 30.0),  # 40 min after the previous reading: a gap (> 15 min)
        (T0 + 70 * MIN, 30.0),
    ]
    fold = power_integral(readings, T0 + 5 * MIN, T0 + 65 * MIN, max_gap_s=900)
    # [5, 10] min: (15 + 20) / 2 kW x 5 min; [10, 20]: 20 kW x 10 min; [60, 65]: 30 kW x 5 min
    assert fold.energy_kwh == pytest.approx((87.5 + 200 + 150) / 60)
    assert fold.covered_ms == 20 * MIN
    assert coverage(fold.covered_ms, T0 + 5 * MIN, T0 + 65 * MIN) == pytest.approx(1 / 3)
    assert power_integral(readings, T0, T0 + 70 * MIN, max_gap_s=3600).energy_kwh == (
        pytest.approx((150 + 200 + 1000 + 300) / 60)
    )


def test_no_readings_no_energy():
    assert register_energy([], START, END).covered_ms == 0
    assert power_integral([(START, 5.0)], START, END, 900).energy_kwh == 0.0
    assert coverage(10, 0, 0) == 0.0


async def test_energy_route_uses_the_register_with_reset(app, client, sessions, auth_headers):
    _, asset, headers = await site_with_asset(client, auth_headers, "Register site")
    register = await metric_id(sessions, "energy_kwh")
    power = await metric_id(sessions, "power_kw")
    points = [(START - 10 * MIN, 50.0), (START + 5 * MIN, 55.0), (START + 20 * MIN, 60.0),
              (START + 30 * MIN, 3.0), (START + 40 * MIN, 5.0)]  # fmt: skip
    await insert_readings(sessions, [(asset["id"], register, ts, v) for ts, v in points])
    await insert_readings(sessions, [(asset["id"], power, START, 1000.0)])
    response = await client.get(
        f"/api/v1/assets/{asset['id']}/energy",
        params={"start": iso(START), "end": str(END)},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == "register"
    assert body["energy_kwh"] == pytest.approx(12.0)
    assert body["coverage"] == pytest.approx(40 / 60)
    assert body["start"] == iso(START) and body["end"] == iso(END)


async def test_energy_route_integrates_power_without_bridging_a_gap(
    app, client, sessions, auth_headers
):
    _, asset, headers = await site_with_asset(client, auth_headers, "Power site")
    power = await metric_id(sessions, "power_kw")
    points = [(T0, 10.0), (T0 + 10 * MIN, 20.0), (T0 + 20 * MIN, 20.0), (T0 + 60 * MIN, 30.0),
              (T0 + 70 * MIN, 30.0)]  # fmt: skip
    await insert_readings(sessions, [(asset["id"], power, ts, v) for ts, v in points])
    response = await client.get(
        f"/api/v1/assets/{asset['id']}/energy",
        params={"start": iso(T0 + 5 * MIN), "end": iso(T0 + 65 * MIN)},
        headers=headers,
    )
    body = response.json()
    assert body["method"] == "power_integral"
    assert body["energy_kwh"] == pytest.approx(437.5 / 60)
    assert body["coverage"] == pytest.approx(1 / 3)

    empty = await client.get(
        f"/api/v1/assets/{asset['id']}/energy",
        params={"start": iso(T0 + 10 * HOUR), "end": iso(T0 + 11 * HOUR)},
        headers=headers,
    )
    assert empty.json() | {"start": None, "end": None} == {
        "energy_kwh": None, "method": "none", "coverage": 0.0, "start": None, "end": None,
        "resets": 0,
    }  # fmt: skip


@pytest.mark.parametrize("refresh", [True, False])
async def test_register_over_days_from_rollups_equals_raw(app, sessions, refresh):
    """Whole hours come from hourly rollups, edges (and unrefreshed data) from raw readings."""
    from gridpilot.telemetry.queries import energy

    rng = random.Random(7)
    register = await metric_id(sessions, "energy_kwh")
    value, points = 1000.0, []
    for i in range(2 * 24 * 6):
        value = rng.uniform(0, 5) if rng.random() < 0.01 else value + rng.uniform(0, 3)
        points.append((T0 + i * 10 * MIN + rng.randrange(0, 60_000), value))
    await insert_readings(sessions, [(9, register, ts, v) for ts, v in points])
    if refresh:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    start, end = T0 + 3 * HOUR + 7 * MIN, T0 + 40 * HOUR + 33 * MIN
    async with sessions() as session:
        result = await energy(
            session=session, asset_id=9, start_ms=start, end_ms=end, max_gap_s=900
        )
    expected = register_energy(points, start, end)
    assert result.method == "register"
    assert result.energy_kwh == pytest.approx(expected.energy_kwh, rel=1e-9)
    assert result.coverage == pytest.approx(coverage(expected.covered_ms, start, end))
