"""POST/GET /api/v1/sites/{id}/schedule on both back ends: a battery site planned from stored
forecasts and a ToU tariff, infeasible resources, missing inputs, scope and roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tests.flex.schedule_data import (
    QUARTER_MS,
    TARIFF,
    add_battery,
    plan_site,
    store_forecasts,
    zone_where_it_is,
)
from tests.insights.kpis.kpi_test_data import add_tariff, make_asset, make_site

from gridpilot.auth.permissions import Role
from gridpilot.core.timestamps import MS_PER_DAY, now_ms
from gridpilot.flex.inputs import month_start_ms

EFFICIENCY = 0.95
STEP_H = 0.25


def url(site_id: int) -> str:
    return f"/api/v1/sites/{site_id}/schedule"


def check_invariants(steps: list[dict], start_soc_pct: float = 50.0) -> None:
    """SOC in its band and following the battery's dynamics, never charging and discharging
    at once, the site balance within 1 W in every step, terminal SOC at least the start."""
    soc = start_soc_pct
    for step in steps:
        battery = step["batteries"]["BESS"]
        charge, discharge = battery["charge_kw"], battery["discharge_kw"]
        assert 10 - 1e-6 <= battery["soc_pct"] <= 90 + 1e-6, step
        assert min(charge, discharge) <= 1e-6, step
        # 100 kWh: one kWh is one percent
        soc += STEP_H * (EFFICIENCY * charge - discharge / EFFICIENCY)
        assert battery["soc_pct"] == pytest.approx(soc, abs=1e-4)
        net = step["load_kw"] + charge - discharge - (step["pv_kw"] - step["pv_curtailed_kw"])
        net += sum(step["deferrable_kw"].values()) + sum(step["ev_kw"].values())
        assert abs(step["grid_import_kw"] - step["grid_export_kw"] - net) < 1e-3, step
        assert min(step["grid_import_kw"], step["grid_export_kw"]) <= 1e-6
    assert soc >= start_soc_pct - 1e-4


async def test_battery_plan_beats_no_battery_and_is_stored(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Arbitrage")
    await add_battery(client, admin, site_id)
    missing = await client.get(url(site_id), headers=admin)
    assert missing.status_code == 404
    assert "no schedule yet" in missing.json()["message"]

    response = await client.post(url(site_id), headers=admin)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["status"] == "optimal" and plan["solver_status"] == "optimal"
    assert plan["horizon_steps"] == 96 and plan["step_s"] == 900 and plan["conflicts"] == []
    steps = plan["steps"]
    assert len(steps) == 96
    check_invariants(steps)
    assert plan["max_balance_residual_w"] < 1
    assert plan["inputs"]["forecasts"]["consumption"]["source"] == "stored"
    assert plan["inputs"]["batteries"]["BESS"] == {"start_pct": 50.0, "source": "configured"}

    # the no-battery cost by hand: 30 kW in every quarter hour at its price
    prices = [s["price_eur_per_kwh"] for s in steps]
    assert set(prices) == {0.10, 0.40}
    by_hand = sum(Decimal(str(30 * STEP_H * p)) for p in prices).quantize(Decimal("0.01"))
    savings = plan["savings"]
    assert Decimal(savings["no_battery_eur"]) == by_hand
    assert Decimal(plan["objective_eur"]) <= by_hand
    # 40 kWh above the floor buy at 0.10 / 0.95 and sell at 0.40 x 0.95: it pays every day
    assert Decimal(savings["saving_vs_no_battery_eur"]) > Decimal("5")
    assert Decimal(savings["saving_vs_rule_based_eur"]) >= 0
    charged = sum(
        s["batteries"]["BESS"]["charge_kw"] for s in steps if s["price_eur_per_kwh"] > 0.2
    )
    assert charged == pytest.approx(0, abs=1e-6)  # never charges at the peak price

    stored = await client.get(url(site_id), headers=await auth_headers(Role.VIEWER, [site_id]))
    assert stored.status_code == 200
    assert stored.json() == plan


async def test_infeasible_contract_answers_fallback_and_conflict(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Tight", contract_kw=20.0)
    await add_battery(client, admin, site_id)
    response = await client.post(url(site_id), json={"horizon_h": 24}, headers=admin)
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["status"] == "fallback" and plan["solver_status"] == "infeasible"
    groups = {c["group"]: c for c in plan["conflicts"]}
    assert set(groups) == {"import_limit"}
    # 30 kW all day against 20 kW: the battery ends where it started, so it cannot help
    assert groups["import_limit"]["shortfall"] >= 10 - 1e-6
    assert "import limit of 20 kW" in groups["import_limit"]["message"]
    for step in plan["steps"]:  # the safe fallback: battery idle, the load from the grid
        assert step["batteries"]["BESS"] == {"charge_kw": 0, "discharge_kw": 0, "soc_pct": 50}
        assert step["grid_import_kw"] == pytest.approx(30.0)
    assert (await client.get(url(site_id), headers=admin)).json()["id"] == plan["id"]


async def test_ev_that_cannot_make_its_deadline(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Car park")
    now = datetime.now(UTC)
    ev = {
        "kind": "ev_charger",
        "name": "Wallbox",
        "params": {
            "power_max_kw": 11,
            "sessions": [
                {
                    "arrival": (now - timedelta(hours=1)).isoformat(),
                    "departure": (now + timedelta(hours=1)).isoformat(),
                    "energy_kwh": 40,
                }
            ],
        },
    }
    created = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=ev, headers=admin)
    assert created.status_code == 201, created.text
    plan = (await client.post(url(site_id), headers=admin)).json()
    assert plan["status"] == "fallback"
    (conflict,) = plan["conflicts"]
    # from the quarter holding now to an hour later: 4 whole quarters at 11 kW = 11 kWh (3 if
    # a quarter hour began between the test's clock read and the plan's)
    start = datetime.fromisoformat(plan["start"])
    quarters = (now + timedelta(hours=1) - start) // timedelta(minutes=15)
    assert quarters in (3, 4)
    short = 40 - 11 * STEP_H * quarters
    assert conflict["group"] == "ev_deadline:Wallbox"
    assert conflict["shortfall"] == pytest.approx(short, abs=1e-6)
    assert "'Wallbox'" in conflict["message"] and f"{short:.3f} kWh short" in conflict["message"]
    charging = [s["ev_kw"]["Wallbox"] for s in plan["steps"][: quarters + 1]]
    assert charging == [11] * quarters + [0]
    assert any("under way" in note for note in plan["notes"])


async def test_missing_inputs_are_named(client, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Bare")
    response = await client.post(url(site_id), json={"horizon_h": 48}, headers=admin)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["details"]["missing"] == ["consumption forecast", "generation forecast", "tariff"]
    assert "cannot be planned" in body["message"] and "tariff" in body["message"]
    bad = await client.post(url(site_id), json={"horizon_h": 12}, headers=admin)
    assert bad.status_code == 422
    bad = await client.post(url(site_id), json={"step_min": 20}, headers=admin)
    assert bad.status_code == 422


async def test_schedule_roles_and_scope(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Scoped plan")
    other = await make_site(client, admin, "Other plan")
    viewer = await auth_headers(Role.VIEWER, sites=[site_id])
    assert (await client.post(url(site_id), headers=viewer)).status_code == 403
    operator = await auth_headers(Role.OPERATOR, sites=[site_id])
    planned = await client.post(url(site_id), json={"step_min": 60}, headers=operator)
    assert planned.status_code == 200, planned.text
    assert planned.json()["horizon_steps"] == 24 and planned.json()["status"] == "optimal"
    assert (await client.get(url(site_id), headers=viewer)).status_code == 200
    outsider = await auth_headers(Role.OPERATOR, sites=[other])
    assert (await client.get(url(site_id), headers=outsider)).status_code == 404
    assert (await client.post(url(site_id), headers=outsider)).status_code == 404


def pump_body(name: str, energy_kwh: float, power_kw: float) -> dict:
    """A one-block load of ``energy_kwh`` at ``power_kw`` in a 06:00-12:00 local window."""
    return {
        "kind": "deferrable_load",
        "name": name,
        "params": {
            "energy_kwh": energy_kwh,
            "power_min_kw": power_kw,
            "power_max_kw": power_kw,
            "window_start": "06:00",
            "window_end": "12:00",
            "interruptible": False,
        },
    }


def local_time(step: dict, zone: str) -> datetime:
    return datetime.fromisoformat(step["ts"]).astimezone(ZoneInfo(zone))


# the site's local time when planning: 13:xx, the 48 h hold two whole 06:00-12:00 windows;
# 07:xx, today's is under way (not planned), tomorrow's whole, the day after's cut at 07:xx
# with room for the pump's four quarters (at 08:xx, if the hour turns meanwhile, too)
@pytest.mark.parametrize("hour", [13, 7])
async def test_deferrable_load_runs_in_one_cheap_block(client, sessions, auth_headers, hour):
    admin = await auth_headers(Role.ADMINISTRATOR)
    zone = zone_where_it_is(hour)
    site_id = await plan_site(client, sessions, admin, "Pumping", load_kw=1.0, timezone=zone)
    pump = pump_body("Pump", 4, 4)
    created = await client.post(f"/api/v1/sites/{site_id}/flex-resources", json=pump, headers=admin)
    assert created.status_code == 201, created.text
    plan = (await client.post(url(site_id), json={"horizon_h": 48}, headers=admin)).json()
    assert plan["status"] == "optimal", plan["message"]
    power = [s["deferrable_kw"]["Pump"] for s in plan["steps"]]
    running = [t for t, kw in enumerate(power) if kw > 1e-6]
    # each of the two windows gets 4 kWh in one block of four quarters at 4 kW, before 08:00,
    # when energy costs 0.10 instead of 0.40 EUR/kWh (site local time)
    assert len(running) == 8
    for block in (running[:4], running[4:]):
        assert block == list(range(block[0], block[0] + 4))
        for t in block:
            assert power[t] == pytest.approx(4.0)
            assert local_time(plan["steps"][t], zone).hour in (6, 7)
    days = [local_time(plan["steps"][t], zone).date() for t in (running[0], running[4])]
    assert (days[1] - days[0]).days == 1  # one block in each window
    check_invariants_without_battery(plan["steps"])


async def test_a_run_that_does_not_fit_before_the_horizon_ends_waits(
    client, sessions, auth_headers
):
    # local 07:xx: the 48 h end at 07:xx two days on, 4 to 7 quarters into that day's window
    # (8 to 11 if the hour turns meanwhile); the heater needs 16 (4 kWh at 1 kW)
    admin = await auth_headers(Role.ADMINISTRATOR)
    zone = zone_where_it_is(7)
    site_id = await plan_site(client, sessions, admin, "Heating", load_kw=1.0, timezone=zone)
    heater = pump_body("Heater", 4, 1)
    created = await client.post(
        f"/api/v1/sites/{site_id}/flex-resources", json=heater, headers=admin
    )
    assert created.status_code == 201, created.text
    plan = (await client.post(url(site_id), json={"horizon_h": 48}, headers=admin)).json()
    assert plan["status"] == "optimal", plan["message"]
    steps = plan["steps"]
    running = [t for t, s in enumerate(steps) if s["deferrable_kw"]["Heater"] > 1e-6]
    # tomorrow's window only: 16 quarters in one block from 06:00 (8 at 0.10, 8 at 0.40 EUR/kWh;
    # any later start has fewer cheap ones)
    assert running == list(range(running[0], running[0] + 16))
    first, start = local_time(steps[running[0]], zone), local_time(steps[0], zone)
    assert (first.date() - start.date()).days == 1 and first.strftime("%H:%M") == "06:00"
    assert all(steps[t]["deferrable_kw"]["Heater"] == pytest.approx(1.0) for t in running)
    waiting = [n for n in plan["notes"] if "left to a later plan" in n]
    assert len(waiting) == 1 and "'Heater'" in waiting[0]
    assert any("under way" in n for n in plan["notes"])  # today's window


def check_invariants_without_battery(steps: list[dict]) -> None:
    for step in steps:
        net = step["load_kw"] + sum(step["deferrable_kw"].values()) - step["pv_kw"]
        assert abs(step["grid_import_kw"] - step["grid_export_kw"] - net) < 1e-3


async def test_plan_starts_from_the_measured_soc(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Measured")
    battery = await add_battery(client, admin, site_id)
    reading = {"asset": battery, "metric": "soc_pct", "ts": now_ms() - 60_000, "value": 80.0}
    stored = await client.post("/api/v1/telemetry", json={"readings": [reading]}, headers=admin)
    assert stored.status_code == 200 and stored.json()["stored"] == 1, stored.text
    plan = (await client.post(url(site_id), headers=admin)).json()
    assert plan["inputs"]["batteries"]["BESS"]["source"] == "measured"
    assert plan["inputs"]["batteries"]["BESS"]["start_pct"] == 80.0
    check_invariants(plan["steps"], start_soc_pct=80.0)


async def test_a_day_of_stored_forecast_does_not_plan_two(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Short forecast")
    await store_forecasts(sessions, site_id, 30.0, hours=25)  # the newest: 25 h only
    day = await client.post(url(site_id), json={"horizon_h": 24}, headers=admin)
    assert day.status_code == 200, day.text
    two = await client.post(url(site_id), json={"horizon_h": 48}, headers=admin)
    assert two.status_code == 409, two.text  # computing 48 h needs history the site lacks
    assert two.json()["details"]["missing"] == ["consumption forecast", "generation forecast"]


async def test_start_soc_below_the_band_stays_feasible(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await plan_site(client, sessions, admin, "Deep discharge")
    battery = await add_battery(client, admin, site_id)
    reading = {"asset": battery, "metric": "soc_pct", "ts": now_ms() - 60_000, "value": 5.0}
    stored = await client.post("/api/v1/telemetry", json={"readings": [reading]}, headers=admin)
    assert stored.status_code == 200, stored.text
    plan = (await client.post(url(site_id), headers=admin)).json()
    assert plan["status"] == "optimal", plan["message"]
    soc = [s["batteries"]["BESS"]["soc_pct"] for s in plan["steps"]]
    # 5 kWh short of the 10 % floor: one quarter at 50 kW puts in 11.9 kWh, so it is back in
    # its band from the end of the first step on and never leaves it again
    assert all(10 - 1e-6 <= v <= 90 + 1e-6 for v in soc)


async def test_incumbent_peak_of_the_month_from_the_site_balance(client, sessions, auth_headers):
    admin = await auth_headers(Role.ADMINISTRATOR)
    site_id = await make_site(client, admin, "Peaky")
    tariff = {**TARIFF, "demand_charge_per_kw_month": 10.0}
    added = await add_tariff(client, admin, site_id, now_ms() - MS_PER_DAY, tariff)
    assert added.status_code == 201, added.text
    await store_forecasts(sessions, site_id, 30.0)
    press = await make_asset(client, admin, site_id, "Press", "machine")
    now = now_ms()
    start = now - now % QUARTER_MS
    readings = [
        {"asset": press, "metric": "power_kw", "ts": start - minute * 60_000, "value": 80.0}
        for minute in range(1, 46)
    ]
    stored = await client.post("/api/v1/telemetry", json={"readings": readings}, headers=admin)
    assert stored.status_code == 200 and stored.json()["stored"] == 45, stored.text
    plan = (await client.post(url(site_id), headers=admin)).json()
    inputs = plan["inputs"]
    assert inputs["demand_charge_eur_per_kw_month"] == 10.0
    in_month = start - 30 * 60_000 >= month_start_ms(start, "UTC")
    # no grid meter: the import is the press's 80 kW (derived); the quarter from 30 to 15 min
    # before the plan is wholly measured
    assert inputs["incumbent_peak_kw"] == (pytest.approx(80.0) if in_month else 0.0)
    # 30 kW stays far below the 80 kW already paid for: no demand charge in the plan
    assert plan["cost"]["demand_charge_eur"] == "0.00"
