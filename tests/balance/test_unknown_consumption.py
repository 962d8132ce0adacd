"""A site's consumption is measured, derived from the identity, or unknown: never 0 just
because no consumption meter exists (docs/site-energy.md). A plant without a meter at its
connection point (PV and a battery, as the demo's solar park) has unknown consumption, import
and export; a plant with a grid meter gets ``consumption = import - export + generation +
discharge - charge`` where those terms are known, unknown after its data ends. Hand-computed
kWh per 15 min, from raw readings and from rollups (the stored path on PostgreSQL), on both
back ends; the KPIs and the site's month card show unknown, not 0."""

from __future__ import annotations

import numpy as np
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
    register,
)
from tests.insights.kpis.kpi_test_data import kpis, make_asset, make_site

from gridpilot.analytics.site_balance import solve_balance
from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import iso, now_ms
from gridpilot.telemetry.rollups import refresh_pending
from gridpilot.web.energy_flow import flows_of
from gridpilot.web.numbers import UNKNOWN, energy
from gridpilot.web.site_cards import month_texts


@pytest.fixture
async def admin(auth_headers):
    return await auth_headers(Role.ADMINISTRATOR)


async def _plant(client, admin) -> int:
    """PV and a battery, no grid meter, no load meter; data in the first two quarter hours
    only (each power reading held 15 min)."""
    site = await make_site(client, admin, "Solar park")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    battery = await make_asset(client, admin, site, "Battery", "battery")
    await ingest(client, admin, power(pv, [20, 16]) + power(battery, [4, -6]))
    return site


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_a_plant_without_a_grid_meter_has_unknown_consumption(
    client, admin, app, sessions, rolled_up
):
    site = await _plant(client, admin)
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site)
    assert column(body, "generation") == [5, 4, None, None]
    assert column(body, "charge") == [1, 0, None, None]
    assert column(body, "discharge") == [0, 1.5, None, None]
    # nothing meters the connection point: consumption, import and export cannot be derived
    assert column(body, "consumption") == [None] * 4
    assert column(body, "import") == [None] * 4
    assert column(body, "export") == [None] * 4
    assert body["sources"]["consumption"]["unknown"] == 1.0
    assert body["sources"]["consumption"]["absent"] == 0.0
    assert body["coverage"] == 0.0
    # no complete interval: the totals are unknown, not 0
    assert body["totals"]["consumption_kwh"] is None
    assert body["totals"]["import_kwh"] is None
    assert body["self_consumption"] is None and body["self_sufficiency"] is None


@pytest.mark.parametrize("rolled_up", [False, True])
async def test_a_plant_with_a_grid_meter_derives_consumption_where_known(
    client, admin, app, sessions, rolled_up
):
    """Import and export registers, PV power; the registers stop after interval 1 and the PV
    after interval 2: consumption = import - export + generation, then unknown."""
    site = await make_site(client, admin, "Metered park")
    grid = await make_asset(client, admin, site, "Main meter", "grid_connection")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    await ingest(
        client,
        admin,
        register(grid, "energy_kwh", [100, 100.5, 100.5])
        + register(grid, "energy_export_kwh", [50, 50, 53])
        + power(pv, [0, 16, 12]),
    )
    if rolled_up:
        await refresh_pending(sessions=sessions, settings=app.state.settings)
    body = await balance(client, admin, site)
    assert column(body, "import") == [0.5, 0, None, None]
    assert column(body, "export") == [0, 3, None, None]
    assert column(body, "generation") == [0, 4, 3, None]
    assert column(body, "consumption") == [0.5, 1, None, None]
    assert body["sources"]["consumption"]["derived"] == 0.5
    assert body["sources"]["consumption"]["unknown"] == 0.5
    assert body["totals"]["consumption_kwh"] == 1.5
    assert body["coverage"] == 0.5


async def test_the_plants_kpis_and_month_card_show_unknown(client, admin):
    site = await _plant(client, admin)
    figures = await kpis(client, admin, site=site, **PERIOD)
    assert figures["generation_kwh"]["value"] == pytest.approx(9.0)
    for key in ("energy_kwh", "peak_demand_kw"):
        assert figures.get(key, {}).get("value") is None, key
    texts = month_texts(figures, contract_kw=None)
    assert texts["month-energy"][0] == UNKNOWN
    assert texts["month-peak"][0] == UNKNOWN


async def test_the_plants_current_consumption_is_unknown(client, admin):
    site = await make_site(client, admin, "Live park")
    pv = await make_asset(client, admin, site, "PV", "solar_pv")
    now = now_ms()
    await ingest(client, admin, [reading(pv, "power_kw", now - 30_000, 12.0)])
    response = await client.get(f"/api/v1/sites/{site}/current", headers=admin)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["current_generation_kw"] == pytest.approx(12.0)
    assert body["current_demand_kw"] is None
    assert body["grid_export_kw"] is None
    assert body["sources"]["consumption"] == "unknown"


async def test_a_period_after_the_data_has_no_consumption(client, admin):
    """The period after a plant's data ends: every interval unknown, none 0."""
    site = await _plant(client, admin)
    later = {"start": PERIOD["end"], "end": iso(T0 + 8 * Q)}
    body = await balance(client, admin, site, **later)
    assert column(body, "consumption") == [None] * 4
    assert column(body, "generation") == [None] * 4
    assert body["totals"]["consumption_kwh"] is None


def test_the_energy_flow_of_a_plant_without_a_grid_meter_is_unknown():
    """The site page's flow card: nothing complete, so home, grid and solar read unknown."""
    nan = float("nan")
    plant = solve_balance(
        {
            "generation": np.array([5.0, 4.0]),
            "import": np.array([nan, nan]),
            "export": np.array([nan, nan]),
            "consumption": np.array([nan, nan]),
        }
    )
    flows = flows_of([plant])
    assert flows.coverage == 0.0
    assert energy(flows.kwh["consumption"]) == UNKNOWN
    assert energy(flows.kwh["import"]) == UNKNOWN
    assert flows.self_consumption is None and flows.self_sufficiency is None
