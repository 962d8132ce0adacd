"""GET /api/v1/kpis on both back ends against hand-computed figures.

Readings go straight into the tables (``insert_readings``) and are rolled up, like the writer does.
"""

from __future__ import annotations

import pandas as pd
import pytest
from tests.insights.kpis.kpi_test_data import add_tariff, kpis, make_asset, make_site
from tests.telemetry.query_test_data import MIN, T0, insert_readings, metric_id

from gridpilot.auth.permissions import Role
from gridpilot.ingest.mqtt_runtime import ensure_ingest_metrics
from gridpilot.telemetry.rollups import refresh_pending

QUARTER = 15 * MIN
#: 2026-10-25 local day in Europe/Rome (25 h): 2026-10-24T22:00Z .. 2026-10-25T23:00Z.
DST_START = pd.Timestamp("2026-10-24T22:00Z").value // 1_000_000
DST_END = pd.Timestamp("2026-10-25T23:00Z").value // 1_000_000
NIGHT_DAY = {
    "periods": [{"name": "night", "rate_per_kwh": 0.10, "start": "00:00", "end": "07:00"}],
    "default_rate_per_kwh": 0.20,
    "fixed_charge_per_day": 2.5,
}


@pytest.fixture
async def rome_meter(app, client, sessions, auth_headers):
    """A Rome site's meter: register +1 kWh per quarter over the 25-hour DST day, a counter
    reset at quarter 50 and no readings for quarters 80-83 (an hour's gap)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Rome plant", timezone="Europe/Rome")
    meter = await make_asset(client, admin, site_id, "Main meter", "meter")
    register = await metric_id(sessions, "energy_kwh")
    rows, value = [], 1000.0
    for k in range(100):
        value = 5.0 if k == 50 else value + (1.0 if k else 0.0)
        if 80 <= k <= 83:
            continue
        rows.append((meter, register, DST_START + k * QUARTER, value))
    # the gap: readings 80-83 are missing, so reading 84 is 5 kWh above reading 79
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    return site_id, meter, admin


async def test_register_energy_and_tou_cost_over_a_dst_day_with_reset_and_gap(client, rome_meter):
    site_id, meter, admin = rome_meter
    created = await add_tariff(client, admin, site_id, DST_START - 86_400_000, NIGHT_DAY)
    assert created.status_code == 201, created.text
    figures = await kpis(client, admin, asset=meter, start=DST_START, end=DST_END)
    # 99 steps of 1 kWh, minus the reset step (no energy): 98 kWh
    assert figures["energy_kwh"]["value"] == pytest.approx(98.0)
    assert figures["energy_kwh"]["methods"] == ["register"]
    cost = figures["cost"]
    # interval-ending (the default): reading k closes quarter k - 1. Night 00:00-07:00 local =
    # 8 clock hours on this day = quarters 0..31, closed by readings 1..32: 32 kWh (reading 0
    # closes the quarter before the day); the day band the other 66 kWh (the gap's 5 kWh,
    # reading 84, land in quarter 83)
    assert cost["by_period"]["night"]["energy_kwh"] == pytest.approx(32.0)
    assert cost["by_period"]["default"]["energy_kwh"] == pytest.approx(66.0)
    assert cost["energy_cost"] == pytest.approx(32 * 0.10 + 66 * 0.20)
    assert cost["fixed_cost"] == pytest.approx(2.5)  # one whole 25-hour local day
    assert cost["value"] == pytest.approx(16.4 + 2.5)
    assert cost["unit"] == "EUR"
    # quarters 79..82 (readings 80..83 missing) and 99 (no reading closes it) without data
    assert cost["coverage"] == pytest.approx(95 / 100)
    # demand from the register: 1 kWh per quarter = 4 kW; the quarter after the gap (5 kWh)
    # spans the gap and is no demand figure
    assert figures["peak_demand_kw"]["value"] == pytest.approx(4.0)
    assert figures["carbon_kg"]["value"] == pytest.approx(98.0 * 0.45)


async def test_versioned_tariff_does_not_rewrite_past_costs(client, rome_meter):
    site_id, meter, admin = rome_meter
    first = await add_tariff(client, admin, site_id, DST_START, {"default_rate_per_kwh": 0.1})
    assert first.status_code == 201, first.text
    before = (await kpis(client, admin, asset=meter, start=DST_START, end=DST_END))["cost"]
    assert before["value"] == pytest.approx(98 * 0.1)
    # a future version leaves the past alone
    future = await add_tariff(
        client, admin, site_id, "2999-01-01T00:00:00Z", {"default_rate_per_kwh": 9.0}, False
    )
    assert future.status_code == 201, future.text
    again = (await kpis(client, admin, asset=meter, start=DST_START, end=DST_END))["cost"]
    assert again["value"] == pytest.approx(before["value"])
    listed = await client.get(f"/api/v1/sites/{site_id}/tariffs", headers=admin)
    assert [v["valid_to"] for v in listed.json()] == ["2999-01-01T00:00:00Z", None]


async def test_a_deliberate_backdated_version_prices_from_its_start(client, rome_meter):
    site_id, meter, admin = rome_meter
    await add_tariff(client, admin, site_id, DST_START, {"default_rate_per_kwh": 0.1})
    # interval-ending: from quarter 60, quarters 60..98 are closed by readings 61..99: 39 kWh
    # (the gap's 5 kWh in quarter 83); 0..59 by readings 1..60: 59 kWh (reading 50 is the reset)
    switch = DST_START + 60 * QUARTER
    second = await add_tariff(client, admin, site_id, switch, {"default_rate_per_kwh": 0.3})
    assert second.status_code == 201, second.text
    cost = (await kpis(client, admin, asset=meter, start=DST_START, end=DST_END))["cost"]
    assert cost["value"] == pytest.approx(59 * 0.1 + 39 * 0.3)


async def test_site_kpis_with_generation(app, client, sessions, auth_headers):
    """Machine: 10 kW for 2 h, one unit per minute. PV (10 kWp): 0 kW in hour 0, 8 kW in hour 1
    at 1000 W/m2. Contract 20 kW, emission factor 0.5 kg/kWh, flat 0.2 EUR/kWh + 10 EUR/kW-month."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(
        client, admin, "Solar factory", contract_demand_kw=20.0, emission_factor_kg_per_kwh=0.5
    )
    machine = await make_asset(client, admin, site_id, "Press", "machine")
    pv = await make_asset(client, admin, site_id, "Roof PV", "solar_pv", rated_capacity_kw=10.0)
    power, count, irradiance = [
        await metric_id(sessions, k) for k in ("power_kw", "production_count", "irradiance_wm2")
    ]
    rows = [(machine, power, T0 + i * MIN, 10.0) for i in range(121)]
    rows += [(machine, count, T0 + i * MIN, float(i + 1)) for i in range(-1, 121)]
    rows += [(pv, power, T0 + i * MIN, 0.0 if i < 60 else 8.0) for i in range(121)]
    rows += [(pv, irradiance, T0 + i * MIN, 0.0 if i < 60 else 1000.0) for i in range(121)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    tariff = {"default_rate_per_kwh": 0.2, "demand_charge_per_kw_month": 10.0}
    assert (await add_tariff(client, admin, site_id, T0, tariff)).status_code == 201
    body = await client.get(
        "/api/v1/kpis", params={"site": site_id, "start": T0, "end": T0 + 120 * MIN}, headers=admin
    )
    assert body.status_code == 200, body.text
    assert {a["id"]: a["counted_as"] for a in body.json()["assets"]} == {
        machine: "load",
        pv: "generation",
    }
    figures = body.json()["kpis"]
    assert figures["energy_kwh"]["value"] == pytest.approx(20.0)
    assert figures["energy_kwh"]["coverage"] == pytest.approx(1.0)
    assert figures["peak_demand_kw"]["value"] == pytest.approx(10.0)
    assert figures["load_factor"]["value"] == pytest.approx(1.0)
    # the site buys what PV does not cover: 10 kWh in hour 0, 2 kWh in hour 1, peak 10 kW
    assert figures["peak_import_kw"]["value"] == pytest.approx(10.0)
    assert figures["contract_utilization_pct"]["value"] == pytest.approx(50.0)
    assert figures["contract_utilization_pct"]["unit"] == "%"
    assert figures["sec_kwh_per_unit"]["value"] == pytest.approx(20.0 / 120.0)
    assert figures["carbon_kg"]["value"] == pytest.approx(12.0 * 0.5)  # grid import only
    assert figures["cost"]["energy_cost"] == pytest.approx(12.0 * 0.2)
    assert figures["cost"]["demand_cost"] == pytest.approx(10.0 * 10.0 * 2 / (31 * 24))
    # the balance's generation: mean power of each quarter hour x 0.25 h
    assert figures["generation_kwh"]["value"] == pytest.approx(8.0)
    # the producer's own series, interval-ending: the 8 kW reading at 60 min closes the quarter
    # 45-60 min (8/15 kW on average there): 8 + 8/15 x 0.25 kWh over 2 calendar hours
    pv_kwh = 8.0 + 8.0 / 15.0 * 0.25
    assert figures["capacity_factor"]["value"] == pytest.approx(pv_kwh / (10.0 * 2.0))
    assert figures["capacity_factor"]["basis"] == "calendar"
    assert figures["specific_yield_kwh_per_kwp"]["value"] == pytest.approx(pv_kwh / 10.0)
    assert figures["performance_ratio"]["value"] == pytest.approx(0.8)
    assert figures["availability"]["value"] == pytest.approx(1.0)
    assert figures["availability"]["basis"] == ["resource"]
    assert figures["self_consumption"]["value"] == pytest.approx(1.0)
    assert figures["self_sufficiency"]["value"] == pytest.approx(8.0 / 20.0)
    for name, figure in figures.items():
        assert 0.0 <= figure["coverage"] <= 1.0, name


async def test_group_and_gap_coverage(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Group site")
    first = await make_asset(client, admin, site_id, "A", "machine")
    second = await make_asset(client, admin, site_id, "B", "machine")
    power = await metric_id(sessions, "power_kw")
    rows = [(first, power, T0 + i * MIN, 4.0) for i in range(61)]
    rows += [(second, power, T0 + i * MIN, 2.0) for i in range(30)]  # silent after 30 min
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    figures = await kpis(
        client, admin, assets=f"{first},{second}", start=T0, end=T0 + 60 * MIN, interval="15m"
    )
    assert figures["peak_demand_kw"]["value"] == pytest.approx(6.0)
    # one asset of two misses half the quarters: mean coverage 0.75
    assert figures["peak_demand_kw"]["coverage"] == pytest.approx(0.75)
    assert "cost" not in figures or figures["cost"]["value"] is None
    hourly = await kpis(client, admin, assets=f"{first},{second}", start=T0, end=T0 + 60 * MIN,
                        interval="1h")  # fmt: skip
    assert hourly["peak_demand_kw"]["value"] == pytest.approx(4.0 + 2.0 * 29 / 30, rel=0.02)


async def test_scope_errors_and_site_restriction(client, rome_meter, auth_headers):
    site_id, meter, admin = rome_meter
    for params in ({}, {"site": site_id, "asset": meter}, {"assets": "1,x"}):
        response = await client.get("/api/v1/kpis", params=params, headers=admin)
        assert response.status_code == 422, (params, response.text)
    bad_interval = await client.get(
        "/api/v1/kpis", params={"asset": meter, "interval": "raw"}, headers=admin
    )
    assert bad_interval.status_code == 422
    too_long = await client.get(
        "/api/v1/kpis",
        params={"asset": meter, "start": "2020-01-01", "end": "2026-01-01", "interval": "1m"},
        headers=admin,
    )
    assert too_long.status_code == 422
    other = await make_site(client, admin, "Somewhere else")
    outsider = await auth_headers(Role.VIEWER, sites=[other])
    for params in ({"site": site_id}, {"asset": meter}, {"assets": str(meter)}):
        response = await client.get("/api/v1/kpis", params=params, headers=outsider)
        assert response.status_code == 404, params
    for path in ("current", "tariffs"):
        response = await client.get(f"/api/v1/sites/{site_id}/{path}", headers=outsider)
        assert response.status_code == 404, path


async def test_holidays_of_the_sites_country_are_priced_as_weekend(
    app, client, sessions, auth_headers
):
    """No ``country`` in the tariff: a Rome site takes Italy's holidays. 1 kW all through
    Tue 2026-12-08 (Immacolata) and Wed 2026-12-09, local days."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Holiday site", timezone="Europe/Rome")
    meter = await make_asset(client, admin, site_id, "Meter", "meter")
    power = await metric_id(sessions, "power_kw")
    start = pd.Timestamp("2026-12-07T23:00Z").value // 1_000_000
    await insert_readings(
        sessions, [(meter, power, start + i * MIN, 1.0) for i in range(2 * 1440 + 1)]
    )
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    tariff = {
        "periods": [
            {"name": "weekday", "rate_per_kwh": 0.30, "days": "weekday"},
            {"name": "weekend", "rate_per_kwh": 0.10, "days": "weekend"},
        ]
    }
    assert (await add_tariff(client, admin, site_id, start, tariff)).status_code == 201
    cost = (await kpis(client, admin, asset=meter, start=start, end=start + 2 * 86_400_000))["cost"]
    assert cost["by_period"]["weekend"]["energy_kwh"] == pytest.approx(24.0)
    assert cost["by_period"]["weekday"]["energy_kwh"] == pytest.approx(24.0)
    assert cost["energy_cost"] == pytest.approx(24 * 0.10 + 24 * 0.30)


async def test_site_tariff_json_and_a_time_varying_emission_factor(
    app, client, sessions, auth_headers
):
    """No tariff versions: the site's ``tariff`` JSON prices the energy. The grid connection
    carries an hourly emission factor: 0.2 kg/kWh in hour 0, none in hour 1 (site's 0.5)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(
        client,
        admin,
        "Legacy tariff site",
        tariff={"default_rate_per_kwh": 0.25, "currency": "USD"},
        emission_factor_kg_per_kwh=0.5,
    )
    machine = await make_asset(client, admin, site_id, "Oven", "machine")
    grid = await make_asset(client, admin, site_id, "Grid", "grid_connection")
    created = await client.post(
        "/api/v1/metrics",
        json={"key": "emission_factor_kg_per_kwh", "unit": "kg/kWh", "min_value": 0},
        headers=admin,
    )
    assert created.status_code in (201, 409), created.text  # the catalogue is shared
    power = await metric_id(sessions, "power_kw")
    factor = await metric_id(sessions, "emission_factor_kg_per_kwh")
    rows = [(machine, power, T0 + i * MIN, 6.0) for i in range(121)]
    rows += [(grid, factor, T0 + i * MIN, 0.2) for i in range(60)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    figures = await kpis(client, admin, site=site_id, start=T0, end=T0 + 120 * MIN)
    assert figures["cost"]["value"] == pytest.approx(12.0 * 0.25)
    assert figures["cost"]["unit"] == "USD"
    assert figures["carbon_kg"]["value"] == pytest.approx(6.0 * 0.2 + 6.0 * 0.5)
    assert figures["carbon_kg"]["varying_share"] == pytest.approx(0.5)
    assert "contract_utilization_pct" not in figures  # the site has no contract demand


async def test_the_site_tariff_prices_the_time_before_the_first_version(
    app, client, sessions, auth_headers
):
    """The site's ``tariff`` JSON at 0.25 USD/kWh, a version at 0.50 from the second hour: the
    first version does not unprice the hour before it (issue #16, the tariffs page)."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(
        client, admin, "Retariffed site", tariff={"default_rate_per_kwh": 0.25, "currency": "USD"}
    )
    machine = await make_asset(client, admin, site_id, "Kiln", "machine")
    version = {
        "valid_from": T0 + 60 * MIN,
        "definition": {"default_rate_per_kwh": 0.5, "currency": "USD", "export_rate_per_kwh": 0.1},
        "backdate": True,
    }
    made = await client.post(f"/api/v1/sites/{site_id}/tariffs", json=version, headers=admin)
    assert made.status_code == 201, made.text
    power = await metric_id(sessions, "power_kw")
    await insert_readings(sessions, [(machine, power, T0 + i * MIN, 6.0) for i in range(121)])
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    figures = await kpis(client, admin, site=site_id, start=T0, end=T0 + 120 * MIN)
    assert figures["cost"]["value"] == pytest.approx(6.0 * 0.25 + 6.0 * 0.5)
    assert figures["cost"]["coverage"] == pytest.approx(1.0)


async def test_site_kpis_never_add_a_main_meter_to_its_sub_meters(
    app, client, sessions, auth_headers
):
    """Main meter 30 kW for 1 h over two 10 kW sub-meters (10 kW unmetered): the site used
    30 kWh, not 50; cost and the contract see the 30 kW the grid supplied."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Metered plant", contract_demand_kw=60.0)
    main = await make_asset(client, admin, site_id, "Main", "meter", role="grid_connection")
    subs = [
        await make_asset(client, admin, site_id, f"Line {n}", "machine", parent_asset_id=main)
        for n in (1, 2)
    ]
    power = await metric_id(sessions, "power_kw")
    rows = [(main, power, T0 + i * MIN, 30.0) for i in range(61)]
    rows += [(sub, power, T0 + i * MIN, 10.0) for sub in subs for i in range(61)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    assert (await add_tariff(client, admin, site_id, T0, {"default_rate_per_kwh": 0.1})).is_success
    figures = await kpis(client, admin, site=site_id, start=T0, end=T0 + 60 * MIN)
    assert figures["energy_kwh"]["value"] == pytest.approx(30.0)
    assert figures["peak_demand_kw"]["value"] == pytest.approx(30.0)
    assert figures["cost"]["energy_cost"] == pytest.approx(3.0)
    assert figures["contract_utilization_pct"]["value"] == pytest.approx(50.0)


async def test_prosumer_site_has_generation_and_self_sufficiency(
    app, client, sessions, auth_headers
):
    """A community-style site of two prosumers, each with import/export and produced/consumed
    registers (the energy-community seed's device message): generation and self-sufficiency
    come from the balance."""
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Community")
    members = [
        await make_asset(
            client, admin, site_id, f"Member {n}", "meter", role="prosumer", rated_capacity_kw=6.0
        )
        for n in (1, 2)
    ]
    await ensure_ingest_metrics(sessions=sessions)  # as the MQTT worker does at start
    keys = ("energy_produced_kwh", "energy_consumed_kwh")
    ids = {k: await metric_id(sessions, k) for k in keys}
    rows = []
    for member in members:  # 4 kWh produced, 5 kWh consumed in the hour
        rows += [(member, ids[keys[0]], T0 + i * 15 * MIN, 100.0 + i) for i in range(5)]
        rows += [(member, ids[keys[1]], T0 + i * 15 * MIN, 200.0 + 1.25 * i) for i in range(5)]
    await insert_readings(sessions, rows)
    await refresh_pending(sessions=sessions, settings=app.state.settings)
    silent = await make_asset(client, admin, site_id, "Member 3", "meter", role="prosumer")
    figures = await kpis(client, admin, site=site_id, start=T0, end=T0 + 60 * MIN)
    assert figures["generation_kwh"]["value"] == pytest.approx(8.0)
    assert figures["energy_kwh"]["value"] == pytest.approx(10.0)
    # the silent third member is named and lowers the coverage, not the others' figures
    assert figures["balance"]["points_without_data"] == [silent]
    assert figures["balance"]["point_coverage"] == pytest.approx(2 / 3)
    assert figures["self_sufficiency"]["coverage"] == pytest.approx(2 / 3)
    assert figures["self_sufficiency"]["value"] == pytest.approx(
        1 - 2.0 / 10.0
    )  # 0.25 kWh in per quarter
