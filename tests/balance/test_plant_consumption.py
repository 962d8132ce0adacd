"""A plant's consumption (docs/site-energy.md, "Solving an interval"): at a connection point that
no meter of consumption or exchange sees (PV and a battery, wind turbines: no grid meter, no
load meter, as the demo's solar park and wind farm) consumption is assumed 0 (no load) only in
the intervals where its generation and storage are known, so its export is derived there; where
they are unknown (after its data ends) consumption, import and export are unknown (null), never
0. Hand-computed kWh per 15 min, from raw readings and from rollups (the stored path, arrays on
PostgreSQL), both back ends; the KPIs, the site page's cards and the energy-flow card show a
dash with the reason instead of "0.0 kWh" / "0.0 kW"; the current balance follows the same
rule; the fleet summary's today of a site without data is null, not 0.
"""

from __future__ import annotations

import pytest
from tests.insights.balance.balance_data import (
    PERIOD,
    T0,
    Q,
    balance,
    column,
    ingest,
    power,
    reading,
)
from tests.insights.kpis.kpi_test_data import kpis, make_asset, make_site

from gridpilot.auth.permissions import Principal, Role
from gridpilot.balance.service import site_balances
from gridpilot.control.tasks import status_policy
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.fleet.service import FleetFilter, fleet_summary
from gridpilot.telemetry.rollups import refresh_pending
from gridpilot.web.energy_flow import NO_DATA, NO_METER, flows_of
from gridpilot.web.fleet_view import consumption_today
from gridpilot.web.flow_view import flow_svg
from gridpilot.web.numbers import UNKNOWN, energy
from gridpilot.web.pages.sites import site_row
from gridpilot.web.site_cards import month_texts

ADMIN = Principal(subject="user:0", name="test", role=Role.ADMINISTRATOR)
AFTER = {"start": PERIOD["end"], "end": iso(T0 + 8 * Q)}  # the hour after the data ended


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def _park(client, admin) -> int:
    """PV 20, 16, 12 kW and a battery charging 4 kW then discharging 6 kW (each reading held
    15 min), no grid meter, no load meter: the PV reports in intervals 0-2, the battery in 0-1,
    nothing in 3."""
    site = await make_site(client, admin, "Solar park")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    battery = await make_asset(client, admin, site, "Battery", "battery")
    await ingest(client, admin, power(pv, [20, 16, 12]) + power(battery, [4, -6]))
    return site


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_a_plants_consumption_is_0_only_where_its_generation_and_storage_are_known(
    client, admin, app, sessions, rolled_up
):
    site = await _park(client, admin)
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site)
    assert column(body, "generation") == [5, 4, 3, None]
    assert column(body, "charge") == [1, 0, None, None]
    assert column(body, "discharge") == [0, 1.5, None, None]
    # no load where the plant's meters tell what happened; unknown where they do not: in
    # interval 2 the battery is silent, in 3 everything is (it was 0.0 in all four)
    assert column(body, "consumption") == [0, 0, None, None]
    # the export stays derived where the plant is known: 5 - 1, 4 + 1.5
    assert column(body, "export") == [4, 5.5, None, None]
    assert column(body, "import") == [0, 0, None, None]
    sources = body["sources"]["consumption"]
    assert (sources["absent"], sources["unknown"], sources["measured"]) == (0.5, 0.5, 0)
    assert body["coverage"] == 0.5
    assert body["totals"]["consumption_kwh"] == 0
    assert body["totals"]["export_kwh"] == 9.5
    assert body["totals"]["generation_kwh"] == 9


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_after_the_plants_data_ends_nothing_is_0(client, admin, app, sessions, rolled_up):
    site = await _park(client, admin)
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site, **AFTER)
    for term in ("consumption", "import", "export", "generation", "charge", "discharge"):
        assert column(body, term) == [None] * 4, term
    assert body["coverage"] == 0
    assert body["sources"]["consumption"]["unknown"] == 1.0
    # no complete interval: the totals are unknown, not 0
    assert body["totals"]["consumption_kwh"] is None
    assert body["totals"]["import_kwh"] is None


async def test_a_wind_farm_derives_its_export_wherever_a_turbine_is_known(client, admin):
    """Two turbines, no grid meter; turbine 1 reports in intervals 0 and 3 (a gap between),
    turbine 2 in interval 0 only: every term unknown where a turbine is."""
    site = await make_site(client, admin, "Wind farm")
    one = await make_asset(client, admin, site, "WTG 1", "wind_onshore")
    two = await make_asset(client, admin, site, "WTG 2", "wind_onshore")
    readings = [reading(one, "power_kw", T0, 400), reading(one, "power_kw", T0 + 3 * Q, 800)]
    readings.append(reading(two, "power_kw", T0, 200))
    await ingest(client, admin, readings)
    body = await balance(client, admin, site)
    assert column(body, "generation") == [150, None, None, None]
    assert column(body, "export") == [150, None, None, None]
    assert column(body, "consumption") == [0, None, None, None]


async def test_the_plants_kpis_and_month_cards_show_a_dash(client, admin):
    site = await _park(client, admin)
    during = await kpis(client, admin, site=site, **PERIOD)
    assert during["generation_kwh"]["value"] == pytest.approx(12.0)
    assert during["balance"]["sources"]["consumption"]["measured"] == 0
    texts = month_texts(during, contract_kw=None)
    assert texts["month-energy"] == (UNKNOWN, NO_METER)  # was "0.0 kWh"
    assert texts["month-peak"] == (UNKNOWN, NO_METER)  # was "0.0 kW"
    after = await kpis(client, admin, site=site, **AFTER)
    for key in ("energy_kwh", "peak_demand_kw"):  # were 0.0
        assert after.get(key, {}).get("value") is None, key
    assert after["balance"]["consumption_kwh"] is None
    texts = month_texts(after, contract_kw=None)
    assert texts["month-energy"] == (UNKNOWN, NO_DATA)
    assert texts["month-peak"] == (UNKNOWN, NO_DATA)


async def test_a_metered_sites_month_cards_keep_their_figures(client, admin):
    site = await make_site(client, admin, "Shop")
    meter = await make_asset(client, admin, site, "Main", "grid_connection")
    await ingest(client, admin, power(meter, [8, 8, 8, 8]))
    texts = month_texts(await kpis(client, admin, site=site, **PERIOD), contract_kw=None)
    assert texts["month-energy"] == ("8.0 kWh", "from the energy balance")
    assert texts["month-peak"] == ("8.0 kW", "highest 15-min average")


async def test_the_plants_energy_flow_card_shows_a_dash_for_the_home(client, admin, sessions):
    site = await _park(client, admin)
    async with sessions() as session:
        during = await site_balances(
            session=session, site_ids=[site], start_ms=T0, end_ms=T0 + 4 * Q
        )
        after = await site_balances(
            session=session, site_ids=[site], start_ms=T0 + 4 * Q, end_ms=T0 + 8 * Q
        )
    flows = flows_of([during[site].balance])
    assert energy(flows.kwh["consumption"]) == UNKNOWN  # was "0.0 kWh"
    assert flows.home_note == NO_METER
    assert energy(flows.kwh["generation"]) == "9.0 kWh"  # the complete intervals 0 and 1
    assert energy(flows.kwh["export"]) == "9.5 kWh"
    # per interval: PV 5 = 4 to the grid + 1 to the battery; PV 4 to the grid, battery 1.5
    assert flows.links["solar_grid"] == pytest.approx(8.0)
    assert flows.links["solar_battery"] == pytest.approx(1.0)
    assert flows.links["battery_grid"] == pytest.approx(1.5)
    assert flows.links["solar_home"] == pytest.approx(0.0)
    assert flows.self_sufficiency is None
    svg = flow_svg(flows)
    assert f'data-testid="flow-home-consumption">{UNKNOWN}</text>' in svg
    flows = flows_of([after[site].balance])  # nothing known: every figure a dash
    assert flows.home_note == NO_DATA and flows.coverage == 0
    for term in ("consumption", "generation", "import", "export"):
        assert energy(flows.kwh[term]) == UNKNOWN, term
    svg = flow_svg(flows)
    assert f'data-testid="flow-home-consumption">{UNKNOWN}</text>' in svg
    assert f'data-testid="flow-grid-import">\u2192 {UNKNOWN}</text>' in svg


async def test_the_current_balance_follows_the_same_rule(client, admin):
    """A fresh PV reading: no load, the export derived; a stale one: unknown, not 0."""
    site = await make_site(client, admin, "Live park")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    now = now_ms()

    async def current() -> dict:
        response = await client.get(f"/api/v1/sites/{site}/current", headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    await ingest(client, admin, [reading(pv, "power_kw", now - 3_600_000, 12.0)])
    stale = await current()
    assert stale["current_demand_kw"] is None  # was 0.0
    assert stale["grid_export_kw"] is None
    assert stale["sources"]["consumption"] == "unknown"
    await ingest(client, admin, [reading(pv, "power_kw", now - 30_000, 12.0)])
    fresh = await current()
    assert fresh["current_generation_kw"] == pytest.approx(12.0)
    assert fresh["current_demand_kw"] == 0
    assert fresh["grid_export_kw"] == pytest.approx(12.0)
    assert fresh["sources"]["consumption"] == "absent"


async def test_a_site_without_data_today_reads_unknown_not_0(client, admin, app, sessions):
    """The fleet summary's today of a consumer that never reported and of a plant without
    data: null, and the dashboard's "Consumption today" a dash with the reason."""
    silent = await make_site(client, admin, "Silent shop")
    await make_asset(client, admin, silent, "Till", "meter", role="consumer")
    park = await make_site(client, admin, "Quiet park")
    await make_asset(client, admin, park, "PV", "solar_pv")
    response = await client.get("/api/v1/fleet/summary", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    today = {site["name"]: site["today"] for site in body["sites"]}
    for name in ("Silent shop", "Quiet park"):
        for term in ("consumption", "import"):
            assert today[name][f"{term}_kwh"] is None, (name, term)  # were 0.0
    for term in ("generation", "export"):
        assert today["Quiet park"][f"{term}_kwh"] is None, term
        assert today["Silent shop"][f"{term}_kwh"] == 0, term  # nothing there could: absent
    assert body["totals"]["today"]["consumption_kwh"] is None
    async with sessions() as session:
        fleet = await fleet_summary(
            session=session, principal=ADMIN, where=FleetFilter(), limit=10, offset=0,
            now_ms=now_ms(), tracked=lambda _asset: None,
            policy=status_policy(app.state.settings),
        )  # fmt: skip
    todays = [e.today for e in fleet.every]
    assert consumption_today(todays) == (UNKNOWN, NO_DATA)  # the overview's, was "0.0 kWh"
    assert [site_row(e)["today"] for e in fleet.every] == [UNKNOWN, UNKNOWN]  # the site list


async def test_a_prosumer_sites_current_balance_without_a_fresh_reading_is_unknown(client, admin):
    """A community member's site (its POD a prosumer, nothing else: the rest of the site has no
    asset) whose readings are an hour old: every term unknown, not 0 kW (the empty rest of the
    site alone was counted)."""
    site = await make_site(client, admin, "Member")
    pod = await make_asset(client, admin, site, "POD", "household", role="prosumer")
    await ingest(client, admin, [reading(pod, "power_kw", now_ms() - 3_600_000, 2.0)])
    response = await client.get(f"/api/v1/sites/{site}/current", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["current_demand_kw"] is None  # was 0.0
    assert body["sources"]["import"] == "unknown"
