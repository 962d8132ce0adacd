"""How readings become energy per interval (docs/site-energy.md, "How the database feeds it"):
register steps spread pro rata over the time they span, power counted only over the time its
readings cover, on both back ends, from raw readings, rollups and both."""

from __future__ import annotations

import pytest
from tests.insights.balance.balance_data import (
    T0,
    Q,
    balance,
    column,
    ingest,
    reading,
)
from tests.insights.kpis.kpi_test_data import make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.telemetry.rollups import refresh_pending


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


@pytest.mark.parametrize("mode", ["raw", "rolled", "mixed"])
async def test_register_steps_are_spread_over_the_time_they_span(
    client, admin, app, sessions, mode
):
    """A main meter read about every 40 min on a 15 min balance, one step straddling the start.

    import: (T0 - Q/2, T0 + 1.5Q] 3 kWh over 2 Q = 1.5 per Q; (T0 + 1.5Q, T0 + 4Q] 4 kWh over
    2.5 Q = 1.6 per Q: intervals 1.5 | 0.75 + 0.8 = 1.55 | 1.6 | 1.6 (6.25 = 2.25 + 4).
    export: 50 -> 48 at T0 + 2Q is a reset (no step), 48 -> 50 over the last two: 0 | 0 | 1 | 1.
    """
    site = await make_site(client, admin, "Sparse register")
    grid = await make_asset(client, admin, site, "Main", "grid_connection")
    middle = reading(grid, "energy_kwh", T0 + 3 * Q // 2, 103)
    first = [
        reading(grid, "energy_kwh", T0 - Q // 2, 100),
        reading(grid, "energy_kwh", T0 + 4 * Q, 107),
        reading(grid, "energy_export_kwh", T0, 50),
        reading(grid, "energy_export_kwh", T0 + 2 * Q, 48),
        reading(grid, "energy_export_kwh", T0 + 4 * Q, 50),
    ]
    if mode == "mixed":  # rollups before T0 + Q, the middle reading still pending
        await ingest(client, admin, first)
        await refresh_pending(sessions=sessions, settings=app.state.settings)
        await ingest(client, admin, [middle])
    else:
        await ingest(client, admin, [*first, middle])
        if mode == "rolled":
            await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site)
    assert column(body, "import") == [1.5, 1.55, 1.6, 1.6]
    assert column(body, "export") == [0, 0, 1, 1]
    assert column(body, "consumption") == [1.5, 1.55, 0.6, 0.6]
    assert body["totals"]["import_kwh"] == pytest.approx(6.25)


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_power_counts_only_the_time_its_readings_cover(
    client, admin, app, sessions, rolled_up
):
    """PV at 4 kW from T0 + Q/2, next reading 8 kW at T0 + 3Q: each holds at most 15 min
    (energy_max_gap_s), so 4 kW x 0.25 h = 1 kWh lands half in interval 0, half in 1; interval
    2 is not covered (unknown, not 4 kW extrapolated); 8 kW x 0.25 h = 2 kWh in interval 3."""
    site = await make_site(client, admin, "PV gaps")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    await ingest(
        client,
        admin,
        [reading(pv, "power_kw", T0 + Q // 2, 4.0), reading(pv, "power_kw", T0 + 3 * Q, 8.0)],
    )
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site)
    assert column(body, "generation") == [0.5, 0.5, None, 2]
    assert column(body, "export") == [0.5, 0.5, None, 2]  # derived: nothing else on site


async def test_power_of_a_reading_every_minute_over_a_hold_limit_of_two_minutes(client, admin):
    """``expected_interval_s`` 60: a reading holds at most 2 min. Readings of 6 kW each minute
    from T0 to T0 + 5 min, then silence: five hold 1 min, the last 2 min: 6 kW x 7 min =
    0.7 kWh, not 6 kW x 15 min."""
    site = await make_site(client, admin, "Fast PV")
    pv = await make_asset(client, admin, site, "PV", "solar_pv", expected_interval_s=60)
    await ingest(client, admin, [reading(pv, "power_kw", T0 + m * 60_000, 6.0) for m in range(6)])
    body = await balance(client, admin, site)
    assert column(body, "generation") == [0.7, None, None, None]


async def test_the_unfinished_interval_counts_only_up_to_now(client, admin):
    """6 kW read 5 min ago: 0.5 kWh so far (6 kW x 5 min), not 6 kW x 15 min = 1.5 kWh."""
    site = await make_site(client, admin, "PV now")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    now = now_ms()
    await ingest(client, admin, [reading(pv, "power_kw", now - 300_000, 6.0)])
    period = {"start": iso(now - 600_000), "end": iso(now + 1000)}
    body = await balance(client, admin, site, **period)
    produced = sum(v for v in column(body, "generation") if v is not None)
    assert produced == pytest.approx(0.5, abs=0.02)  # + 6 kW x the few seconds of the test
