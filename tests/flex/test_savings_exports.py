"""Savings priced with the tariff's export part, through the API (both back ends): the day-ahead
plan's savings (each step at the export price of the tariff version then in force, or a
request's flat price), and the measured day re-priced by GET /flex-savings (each quarter hour
at its own export price). Every figure by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from tests.flex.schedule_data import BATTERY, TARIFF, add_battery
from tests.flex.test_export_prices import (
    EXPORT,
    EXPORT_LATER,
    EXPORT_PEAK,
    LOAD_KW,
    PV_KW,
    _hour,
    cents,
    pv_site,
    tariff,
)
from tests.insights.kpis.kpi_test_data import add_tariff, make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, MS_PER_HOUR, now_ms

STEP_H = 0.25
FIVE_MIN = 300_000


async def test_the_plan_savings_price_each_step_at_its_export_price(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    now = now_ms()
    peak = _hour(now + 2 * MS_PER_HOUR)
    site_id = await pv_site(client, sessions, admin, "Export savings", now, peak)
    # full at the start: the self-consumption controller has no room to charge and, the PV
    # always above the load, nothing to cover: it stays idle like the no-battery reference
    await add_battery(client, admin, site_id, soc_start_pct=90, cycle_cost_eur_per_kwh=0.04)
    later = now - now % MS_PER_HOUR + 12 * MS_PER_HOUR
    added = await add_tariff(client, admin, site_id, later, tariff(None, EXPORT_LATER), False)
    assert added.status_code == 201, added.text

    url = f"/api/v1/sites/{site_id}/schedule"
    plan = (await client.post(url, headers=admin)).json()
    assert plan["status"] == "optimal", plan["message"]
    # no battery: the 10 kW surplus exported in every quarter at that quarter's price
    revenue = Decimal(0)
    for step in plan["steps"]:
        ts = int(datetime.fromisoformat(step["ts"]).timestamp() * 1000)
        price = EXPORT_LATER if ts >= later else EXPORT_PEAK if _hour(ts) == peak else EXPORT
        revenue += Decimal(str((PV_KW - LOAD_KW) * STEP_H * price))
    savings = plan["savings"]
    assert Decimal(savings["no_battery_eur"]) == -cents(revenue)
    assert savings["rule_based_eur"] == savings["no_battery_eur"]
    # the plan sells the stored energy into the 0.60 hour and refills from the PV: it earns more
    optimised = Decimal(savings["optimised_eur"])
    assert optimised < Decimal(savings["no_battery_eur"]) - Decimal("10")
    assert Decimal(savings["saving_vs_no_battery_eur"]) == -cents(revenue) - optimised
    assert plan["steps"][-1]["batteries"]["BESS"]["soc_pct"] >= 90 - 1e-6
    assert optimised == Decimal(plan["cost"]["total_eur"])  # ends full: no stored energy owed

    # a flat 0.02 EUR/kWh overrides the tariff: selling stored energy never pays, so the
    # battery idles and all three run the site alike: 96 quarters x 2.5 kWh x 0.02
    flat = (await client.post(url, json={"export_price_eur_per_kwh": 0.02}, headers=admin)).json()
    assert flat["status"] == "optimal", flat["message"]
    assert flat["savings"] == {
        "optimised_eur": "-4.80",
        "no_battery_eur": "-4.80",
        "rule_based_eur": "-4.80",
        "saving_vs_no_battery_eur": "0.00",
        "saving_vs_rule_based_eur": "0.00",
    }


def _yesterday() -> tuple[str, int, int]:
    today = datetime.now(UTC).date()
    day = today - timedelta(days=1)
    start = int(datetime.combine(day, time(0), UTC).timestamp() * 1000)
    return day.isoformat(), start, start + MS_PER_DAY


def _powers(hour: float) -> tuple[float, float, float]:
    """Load, PV and battery [kW] at ``hour`` (UTC): 10 kW load; 30 kW PV from 10:00 to 20:00;
    the battery charges 20 kW from 12:00 to 13:00 and discharges 20 kW from 18:00 to 19:00."""
    pv = 30.0 if 10 <= hour < 20 else 0.0
    battery = 20.0 if 12 <= hour < 13 else -20.0 if 18 <= hour < 19 else 0.0
    return 10.0, pv, battery


async def test_measured_savings_price_each_quarter_at_its_export_price(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Measured exports")
    # TARIFF's imports (0.40 from 08:00 to 20:00, else 0.10); exports 0.05, 0.20 18:00-20:00
    evening = {"name": "evening", "rate_per_kwh": 0.20, "start": "18:00", "end": "20:00"}
    definition = {**TARIFF, "export_rate_per_kwh": 0.05, "export_periods": [evening]}
    added = await add_tariff(client, admin, site_id, now_ms() - 30 * MS_PER_DAY, definition)
    assert added.status_code == 201, added.text
    assets = [
        await make_asset(client, admin, site_id, "Load", "machine"),
        await make_asset(client, admin, site_id, "PV", "solar_pv"),
        await make_asset(client, admin, site_id, "Battery", "battery"),
    ]
    body = {**BATTERY, "asset_id": assets[2]}
    made = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=body, headers=admin)
    assert made.status_code == 201, made.text
    day, start, end = _yesterday()
    readings = [
        {"asset": asset, "metric": "power_kw", "ts": ms, "value": value}
        for ms in range(start, end + 1, FIVE_MIN)  # the next midnight too: the last quarter ends
        for asset, value in zip(assets, _powers((ms - start) / MS_PER_HOUR), strict=True)
    ]
    for i in range(0, len(readings), 500):
        sent = await client.post(
            "/api/v1/telemetry", json={"readings": readings[i : i + 500]}, headers=admin
        )
        assert sent.status_code == 200, sent.text

    answer = await client.get(
        f"/api/v1/sites/{site_id}/flex-savings", params={"period": "day", "start": day},
        headers=admin,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    [figures] = answer.json()["periods"]
    assert figures["measured_intervals"] == 96
    # no battery: imports 10 kW 00-08 at 0.10, 08-10 at 0.40, 20-24 at 0.10 = 8 + 8 + 4; exports
    # 20 kW 10-18 at 0.05 and 18-20 at 0.20 = 8 + 8 (at a flat 0.05 it would be 10.00)
    assert figures["no_battery_eur"] == "4.00"
    # actual: 20 kWh fewer exported at 0.05 (12-13), 20 kWh more at 0.20 (18-19), and the
    # 2.0526 kWh the losses took (20 / 0.95 - 20 x 0.95) refilled at 0.10 / 0.95: 4 + 1 - 4 + 0.22
    assert figures["optimised_eur"] == "1.22"
    # rule-based, from 50 kWh (floor 10, top 90): covers the night's 10 kW with 40 x 0.95 = 38
    # kWh (3.80 at 0.10), stores 80 kWh of the surplus from 10:00 (80 / 0.95 = 84.21 kWh not
    # exported at 0.05: 4.21), covers 20-24 with 40 kWh (4.00 at 0.10) and ends 2.105 kWh below
    # its start (90 - 40 / 0.95), refilled at 0.10 / 0.95 (0.22): 4 - 3.80 + 4.21 - 4.00 + 0.22
    assert figures["rule_based_eur"] == "0.63"
    assert figures["saving_vs_no_battery_eur"] == "2.78"
    assert figures["saving_vs_rule_based_eur"] == "-0.59"
