"""The figures of the KPI answers (energy, peak, cost, CO2 of a site or an asset) are those of
``GET /api/v1/kpis`` for the same period, and the KPI service asked for one figure computes it
exactly as when asked for all (the voice asks for one: ``compute_kpis(figures=...)``).

A Rome site with a time-of-use tariff (night and day rates, a fixed daily charge and a demand
charge), a machine whose power varies by the quarter hour and counts its production, and a PV
array with its irradiance: every part of the KPI service has work to do.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from tests.voice.voice_data import MINUTE, ZONE, make_asset, store

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.timestamps import now_ms
from gridpilot.insights.kpis.service import compute_kpis

QUERY = "/api/v1/voice/query"
QUARTER = 15 * MINUTE
TARIFF = {
    "periods": [{"name": "night", "rate_per_kwh": 0.11, "start": "00:00", "end": "07:00"}],
    "default_rate_per_kwh": 0.23,
    "fixed_charge_per_day": 2.5,
    "demand_charge_per_kw_month": 9.0,
}
#: The voice intent of each KPI figure.
INTENTS = {
    "energy_kwh": "energy_consumption",
    "peak_demand_kw": "peak_demand",
    "cost": "energy_cost",
    "carbon_kg": "co2_emissions",
}


def _yesterday() -> tuple[int, int]:
    """Yesterday in Rome [ms]."""
    zone = ZoneInfo(ZONE)
    today = dt.datetime.fromtimestamp(now_ms() / 1000, tz=zone).date()
    bounds = [
        dt.datetime.combine(d, dt.time(), tzinfo=zone) for d in (today - dt.timedelta(1), today)
    ]
    return int(bounds[0].timestamp() * 1000), int(bounds[1].timestamp() * 1000)


@pytest.fixture
async def plant(app, client, admin) -> dict[str, int]:
    """Plant K (contract 90 kW, 0.4 kg CO2/kWh): Press 1 draws 30-70 kW (a different mean
    every quarter hour) and makes 1-3 parts a minute; Roof PV (50 kWp) produces by day."""
    site = await client.post("/api/v1/sites", headers=admin, json={
        "name": "Plant K", "timezone": ZONE, "contract_demand_kw": 90.0,
        "emission_factor_kg_per_kwh": 0.4})  # fmt: skip
    assert site.status_code == 201, site.text
    site_id = site.json()["id"]
    start, end = _yesterday()
    body = {"valid_from": start - 86_400_000, "definition": TARIFF, "backdate": True}
    made = await client.post(f"/api/v1/sites/{site_id}/tariffs", json=body, headers=admin)
    assert made.status_code == 201, made.text
    press = await make_asset(client, admin, site_id, "Press 1", "machine")
    made = {"site_id": site_id, "name": "Roof PV", "kind": "solar_pv", "rated_capacity_kw": 50.0}
    pv = await client.post("/api/v1/assets", headers=admin, json=made)
    assert pv.status_code == 201, pv.text
    ts = np.arange(start - QUARTER, end + QUARTER + 1, MINUTE, dtype="int64")
    quarter = (ts - start) // QUARTER
    await store(app, press, "power_kw", ts, 50.0 + 20.0 * np.sin(quarter * 0.7))
    await store(app, press, "production_count", ts, np.cumsum(1 + quarter % 3).astype(float))
    hour = ((ts - start) / 3_600_000) % 24
    sun = np.clip(np.sin((hour - 6.0) / 12.0 * np.pi), 0.0, None)
    await store(app, pv.json()["id"], "power_kw", ts, 40.0 * sun)
    await store(app, pv.json()["id"], "irradiance_wm2", ts, 900.0 * sun)
    return {"site": site_id, "press": press, "pv": pv.json()["id"]}


async def _kpi_figures(client, headers, scope: str, ident: int) -> dict:
    start, end = _yesterday()
    got = await client.get("/api/v1/kpis", headers=headers,
                           params={scope: ident, "start": start, "end": end})  # fmt: skip
    assert got.status_code == 200, got.text
    return dict(got.json()["kpis"])


@pytest.mark.parametrize(("scope", "name"), [("site", "Plant K"), ("asset", "Press 1")])
async def test_voice_answers_equal_the_kpi_api_for_the_same_period(
    client, admin, plant, scope, name
):
    ident = plant["site"] if scope == "site" else plant["press"]
    figures = await _kpi_figures(client, admin, scope, ident)
    assert set(INTENTS) <= set(figures)
    for key, intent in INTENTS.items():
        got = await client.post(QUERY, headers=admin, json={
            "intent": intent, "entities": {"target": name, "timeframe": "yesterday"}})  # fmt: skip
        assert got.status_code == 200, got.text
        value = figures[key]["value"]
        assert value is not None and float(value) > 0, key
        expected = round(float(value), 2 if key == "cost" else 3)
        assert got.json()["data"]["value"] == expected, (key, got.json(), figures[key])


@pytest.mark.parametrize("scope", ["site", "asset"])
async def test_a_figure_asked_alone_equals_the_same_figure_among_all(app, plant, scope):
    """Every KPI the service gives, asked for alone, is the same as among all of them; and the
    ones left out are left out (the work of the others was skipped)."""
    principal = Principal("user:1", "admin", Role.ADMINISTRATOR)
    start, end = _yesterday()
    where = {"site_id": plant["site"]} if scope == "site" else {"asset_id": plant["press"]}
    async with app.state.sessions() as session:
        every = await compute_kpis(session=session, principal=principal, start_ms=start,
                                   end_ms=end, **where)  # fmt: skip
        assert {"energy_kwh", "peak_demand_kw", "cost", "carbon_kg", "sec_kwh_per_unit"} <= set(
            every["kpis"]
        )
        for key, figure in every["kpis"].items():
            alone = await compute_kpis(session=session, principal=principal, start_ms=start,
                                       end_ms=end, figures=[key], **where)  # fmt: skip
            assert alone["kpis"][key] == figure, key
        alone = await compute_kpis(session=session, principal=principal, start_ms=start,
                                   end_ms=end, figures=["peak_demand_kw"], **where)  # fmt: skip
        assert "sec_kwh_per_unit" not in alone["kpis"] and "cost" not in alone["kpis"]
