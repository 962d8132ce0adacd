"""Meter semantics (issue 21 item 6) on both back ends, against hand-computed figures: the
asset's interval convention prices quarters at tariff-band edges in their own band and dates
the peak to its own interval; ``resets`` is the same before and after the rollup refresh."""

from __future__ import annotations

import pytest
from tests.insights.kpis.kpi_test_data import add_tariff, kpis, make_asset, make_site
from tests.telemetry.query_test_data import HOUR, MIN, T0, insert_readings, metric_id

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * MIN
#: Weekday peak band 08:00-19:00 at 0.30, else 0.15 (UTC site; T0 is a Monday).
TARIFF = {
    "periods": [{"name": "F1", "rate_per_kwh": 0.30, "days": "weekday", "start": "08:00",
                 "end": "19:00"}],
    "default_rate_per_kwh": 0.15,
}  # fmt: skip
START, END = T0 + 7 * HOUR, T0 + 20 * HOUR


def quarter_kwh(closing_ms: int) -> float:
    """Energy of the quarter that ends at ``closing_ms``: 20 kWh in 07:45-08:00 (a start-up
    just before the peak band), 5 kWh in 18:45-19:00, else 10 kWh."""
    return {T0 + 8 * HOUR: 20.0, T0 + 19 * HOUR: 5.0}.get(closing_ms, 10.0)


@pytest.fixture
async def factory_meter(app, client, sessions, auth_headers):
    """A factory's main meter: an interval-ending register read every quarter hour, 07:00-20:00."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Factory")
    meter = await make_asset(client, admin, site_id, "Main meter", "meter")
    register = await metric_id(sessions, "energy_kwh")
    rows, value = [(meter, register, START, 1000.0)], 1000.0
    for ts in range(START + QUARTER, END + 1, QUARTER):
        value += quarter_kwh(ts)
        rows.append((meter, register, ts, value))
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    assert (await add_tariff(client, admin, site_id, T0, TARIFF)).status_code == 201
    return site_id, meter, admin


async def test_interval_ending_meter_prices_band_edges_in_their_own_band(client, factory_meter):
    _, meter, admin = factory_meter
    asset = (await client.get(f"/api/v1/assets/{meter}", headers=admin)).json()
    assert asset["interval_convention"] == "ending"  # the default
    figures = await kpis(client, admin, asset=meter, start=START, end=END)
    # 07:00-08:00: 10 + 10 + 10 + 20 = 50 kWh at 0.15; 08:00-19:00: 43 x 10 + 5 = 435 kWh at
    # 0.30 (18:45-19:00 is in the band); 19:00-20:00: 40 kWh at 0.15
    cost = figures["cost"]
    assert cost["by_period"]["F1"]["energy_kwh"] == pytest.approx(435.0)
    assert cost["by_period"]["default"]["energy_kwh"] == pytest.approx(90.0)
    assert cost["energy_cost"] == pytest.approx(90 * 0.15 + 435 * 0.30)  # 144.00
    assert cost["coverage"] == pytest.approx(1.0)
    # the register's energy over the same period: the steps closing 07:15 .. 20:00
    assert figures["energy_kwh"]["value"] == pytest.approx(525.0)
    assert cost["priced_energy_kwh"] == pytest.approx(525.0)
    # 20 kWh in a quarter = 80 kW, in the interval 07:45-08:00 (not one interval late)
    assert figures["peak_demand_kw"]["value"] == pytest.approx(80.0)
    assert figures["peak_demand_kw"]["at"] == iso(T0 + 7 * HOUR + 45 * MIN)


async def test_an_interval_beginning_meter_keeps_the_later_reading_rule(client, factory_meter):
    _, meter, admin = factory_meter
    changed = await client.patch(
        f"/api/v1/assets/{meter}", json={"interval_convention": "beginning"}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["attributes"]["interval_convention"] == "beginning"
    figures = await kpis(client, admin, asset=meter, start=START, end=END)
    # each step in the quarter its reading opens: readings 07:15..19:45 in the period; the
    # 20 kWh of 07:45-08:00 (read at 08:00) fall in 08:00-08:15 at 0.30, the 5 kWh read at
    # 19:00 at 0.15: F1 = 20 + 43 x 10 = 450 kWh, the rest 30 + 5 + 30 = 65 kWh
    cost = figures["cost"]
    assert cost["by_period"]["F1"]["energy_kwh"] == pytest.approx(450.0)
    assert cost["by_period"]["default"]["energy_kwh"] == pytest.approx(65.0)
    assert cost["energy_cost"] == pytest.approx(65 * 0.15 + 450 * 0.30)  # 144.75
    assert figures["energy_kwh"]["value"] == pytest.approx(515.0)
    assert figures["peak_demand_kw"]["at"] == iso(T0 + 8 * HOUR)


async def test_a_bad_interval_convention_is_a_422(client, factory_meter):
    _, meter, admin = factory_meter
    for body in ({"interval_convention": "middle"}, {"attributes": {"interval_convention": 3}}):
        response = await client.patch(f"/api/v1/assets/{meter}", json=body, headers=admin)
        assert response.status_code == 422, response.text


async def test_resets_are_the_same_before_and_after_the_rollup_refresh(
    app, client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Reset site")
    meter = await make_asset(client, admin, site_id, "Meter", "meter")
    register = await metric_id(sessions, "energy_kwh")
    # every 5 min for 4 h: +1 kWh a step; a reset to 2 at 01:20 (inside an hour), a glitch
    # 200 -> 150 -> 300 style drop into 02:00 (between hours): two resets
    rows, value = [], 100.0
    for k in range(49):
        ts = T0 + k * 5 * MIN
        value = 2.0 if ts == T0 + 80 * MIN else (value - 5.0 if ts == T0 + 2 * HOUR else value + 1)
        rows.append((meter, register, ts, value))
    await insert_readings(sessions, rows)
    params = {"asset": meter, "start": T0 - HOUR, "end": T0 + 5 * HOUR, "interval": "1h"}
    before = (await kpis(client, admin, **params))["energy_kwh"]
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    after = (await kpis(client, admin, **params))["energy_kwh"]
    assert before["resets"] == after["resets"] == 2
    # 48 steps, two of them drops: 46 kWh
    assert before["value"] == pytest.approx(46.0)
    assert after["value"] == pytest.approx(46.0)
    raw = await client.get(f"/api/v1/assets/{meter}/energy", headers=admin,
                           params={"start": iso(T0 - HOUR), "end": iso(T0 + 5 * HOUR)})  # fmt: skip
    assert raw.status_code == 200, raw.text
    assert raw.json()["resets"] == 2
