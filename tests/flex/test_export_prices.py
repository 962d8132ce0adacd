"""The export price of a schedule comes from the site's tariff, version by version (both back
ends): a PV site with a battery exports its surplus and its stored energy in the hour whose
export price pays more than storing, the day-ahead plan and the MPC round alike, and the
reported cost counts the export revenue; a request's flat price overrides the tariff."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from tests.flex.schedule_data import BATTERY, QUARTER_MS, add_battery, store_forecasts
from tests.insights.kpis.kpi_test_data import add_tariff, make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, now_ms
from gridpilot.flex.tasks import FlexRuntime

IMPORT = 0.30
EXPORT, EXPORT_PEAK, EXPORT_LATER = 0.05, 0.60, 0.07
LOAD_KW, PV_KW = 10.0, 20.0
#: Cycle cost [EUR/kWh]: cycling for nothing costs, so only a paying export empties the battery.
WEAR = 0.04


def _hour(ms: int) -> int:
    return datetime.fromtimestamp(ms / 1000, UTC).hour


def tariff(peak_hour: int | None, export_rate: float) -> dict:
    """0.30 EUR/kWh imported; exports earn ``export_rate``, 0.60 in the UTC ``peak_hour``."""
    periods = []
    if peak_hour is not None:
        span = {"start": f"{peak_hour:02d}:00", "end": f"{peak_hour + 1:02d}:00"}
        periods = [{"name": "evening", "rate_per_kwh": EXPORT_PEAK, **span}]
    return {
        "currency": "EUR",
        "country": None,
        "default_rate_per_kwh": IMPORT,
        "export_rate_per_kwh": export_rate,
        "export_periods": periods,
    }


async def pv_site(client, sessions, admin, name: str, now: int, peak_hour: int) -> int:
    """A UTC site: 10 kW load, 20 kW PV all day (forecasts), the export tariff from yesterday."""
    site_id = await make_site(client, admin, name)
    added = await add_tariff(client, admin, site_id, now - MS_PER_DAY, tariff(peak_hour, EXPORT))
    assert added.status_code == 201, added.text
    await store_forecasts(sessions, site_id, LOAD_KW, pv_kw=PV_KW, hours=26)
    return site_id


def cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


async def test_the_schedule_exports_when_the_tariff_pays(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    peak = _hour(now + 2 * MS_PER_HOUR)
    site_id = await pv_site(client, sessions, admin, "Export site", now, peak)
    await add_battery(client, admin, site_id, cycle_cost_eur_per_kwh=WEAR)
    # a second version from 12 h on: no evening export price, 0.07 flat
    later = now - now % MS_PER_HOUR + 12 * MS_PER_HOUR
    added = await add_tariff(client, admin, site_id, later, tariff(None, EXPORT_LATER), False)
    assert added.status_code == 201, added.text

    response = await client.post(f"/api/v1/sites/{site_id}/schedule", headers=admin)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["status"] == "optimal", plan["message"]
    assert plan["inputs"]["export_price"] == {"source": "tariff"}
    energy = Decimal(0)
    in_peak = []
    for step in plan["steps"]:
        ts = int(datetime.fromisoformat(step["ts"]).timestamp() * 1000)
        expected = EXPORT_LATER if ts >= later else EXPORT_PEAK if _hour(ts) == peak else EXPORT
        energy += Decimal(str(step["grid_import_kw"] * 0.25 * IMPORT))
        energy -= Decimal(str(step["grid_export_kw"] * 0.25 * expected))
        if expected == EXPORT_PEAK:
            in_peak.append(step)
    # the evening hour pays 0.60 x 0.95 for what cost 0.05 / 0.95 + wear to store: the
    # battery empties into the grid at full power on top of the PV surplus
    assert len(in_peak) == 4
    for step in in_peak:
        assert step["batteries"]["BESS"]["discharge_kw"] == pytest.approx(50.0, abs=1e-4)
        assert step["grid_export_kw"] == pytest.approx(PV_KW - LOAD_KW + 50.0, abs=1e-4)
    assert cents(energy) == Decimal(plan["cost"]["energy_eur"])
    for step in plan["steps"]:
        ts = int(datetime.fromisoformat(step["ts"]).timestamp() * 1000)
        expected = EXPORT_LATER if ts >= later else EXPORT_PEAK if _hour(ts) == peak else EXPORT
        assert step["export_price_eur_per_kwh"] == pytest.approx(expected), step
    assert Decimal(plan["cost"]["energy_eur"]) < 0  # exports earn more than nothing is bought

    # an explicit flat price overrides the tariff in every step
    response = await client.post(
        f"/api/v1/sites/{site_id}/schedule", json={"export_price_eur_per_kwh": 0.0}, headers=admin
    )
    assert response.status_code == 200, response.text
    flat = response.json()
    assert flat["inputs"]["export_price"] == {"source": "request", "eur_per_kwh": 0.0}
    assert {s["export_price_eur_per_kwh"] for s in flat["steps"]} == {0.0}
    assert Decimal(flat["cost"]["energy_eur"]) == 0  # nothing imported, exports earn 0


async def test_a_tariff_without_export_price_says_exports_earn_nothing(
    client, sessions, auth_headers
):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    site_id = await make_site(client, admin, "No export price")
    plain = {"currency": "EUR", "country": None, "default_rate_per_kwh": IMPORT}
    added = await add_tariff(client, admin, site_id, now - MS_PER_DAY, plain)
    assert added.status_code == 201, added.text
    await store_forecasts(sessions, site_id, LOAD_KW, pv_kw=PV_KW, hours=26)
    response = await client.post(f"/api/v1/sites/{site_id}/schedule", headers=admin)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["inputs"]["export_price"]["source"] == "tariff"
    assert "earns 0" in plan["inputs"]["export_price"]["note"]
    assert {s["export_price_eur_per_kwh"] for s in plan["steps"]} == {0.0}


async def test_the_mpc_round_sells_into_the_paying_hour(app, client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    site_id = await pv_site(client, sessions, admin, "MPC export", now, _hour(now))
    asset = await make_asset(client, admin, site_id, "Battery", "battery")
    params = {**BATTERY["params"], "cycle_cost_eur_per_kwh": WEAR, "soc_start_pct": 80}
    body = {**BATTERY, "params": params, "asset_id": asset, "auto_dispatch": True}
    created = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)
    assert created.status_code == 201, created.text

    runtime = FlexRuntime(app.state.settings, sessions, app.state.bus)
    (done,) = await runtime.run_once(at_ms=now)
    assert done.site_id == site_id and done.status == "optimal", done
    # the quarter holding now exports at 0.60: the battery (70 kWh above its floor, at most
    # 4 quarters of 12.5 kWh left in the hour) discharges at full power into the grid
    (sent,) = done.dispatched
    assert sent.kind == "discharge" and sent.power_kw == pytest.approx(50.0)
    schedule = (await client.get(f"/api/v1/sites/{site_id}/schedule", headers=admin)).json()
    first = schedule["steps"][0]
    assert first["grid_export_kw"] == pytest.approx(PV_KW - LOAD_KW + 50.0, abs=1e-4)
    assert first["export_price_eur_per_kwh"] == pytest.approx(EXPORT_PEAK)
    step_end = now - now % QUARTER_MS + QUARTER_MS
    commands = await client.get(f"/api/v1/assets/{asset}/commands", headers=admin)
    (command,) = commands.json()
    assert command["params"]["duration_s"] == (step_end - now) // 1000
