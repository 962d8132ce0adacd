"""The dashboard's flexibility parts (pure): the schedule's charts on the site's wall clock, its
status line, the local days of a KPI period."""

from __future__ import annotations

from datetime import UTC, date, datetime

from gridpilot.flex.schedule_schemas import ScheduleOut
from gridpilot.web import flex_view as view
from gridpilot.web.pages.kpis import savings_days

T0 = int(datetime(2026, 12, 4, 13, 0, tzinfo=UTC).timestamp() * 1000)  # 14:00 CET
HOUR = 3_600_000


def _plan() -> ScheduleOut:
    step = {
        "load_kw": 30.0,
        "pv_kw": 0.0,
        "pv_curtailed_kw": 0.0,
        "grid_import_kw": 0.0,
        "grid_export_kw": 0.0,
        "price_eur_per_kwh": 0.4,
        "export_price_eur_per_kwh": 0.0,
        "batteries": {"BESS": {"charge_kw": 0.0, "discharge_kw": 30.0, "soc_pct": 42.1}},
    }
    money = {
        "optimised_eur": "1.00",
        "no_battery_eur": "3.00",
        "rule_based_eur": "2.00",
        "saving_vs_no_battery_eur": "2.00",
        "saving_vs_rule_based_eur": "1.00",
    }
    return ScheduleOut.model_validate({
        "id": 1, "site_id": 1, "created_at": "2026-12-04T13:05:00Z", "created_by": "system:flex",
        "start": "2026-12-04T13:00:00Z", "end": "2026-12-04T13:15:00Z", "step_s": 900,
        "horizon_steps": 1, "status": "optimal", "solver_status": "optimal",
        "objective_eur": "1.00", "cost": {"energy_eur": "1.00", "demand_charge_eur": "0.00",
                                          "wear_eur": "0.00", "shed_eur": "0.00",
                                          "total_eur": "1.00"},
        "savings": money, "conflicts": [], "message": "",
        "inputs": {"batteries": {"BESS": {"start_pct": 50.0, "source": "measured"}}},
        "notes": [], "solve_time_ms": 3, "max_balance_residual_w": 0.0,
        "steps": [{"ts": "2026-12-04T13:00:00Z", **step}],
    })  # fmt: skip


def test_charts_on_the_sites_clock_with_units():
    plan = _plan()
    power = view.power_chart(plan, "Europe/Rome")
    assert power["useUTC"] is True and power["yAxis"]["name"] == "kW"
    lines = {s["name"]: s["data"] for s in power["series"]}
    # 14:00 and 14:15 on the axis (CET = UTC + 1 h); the step's value holds to its end
    assert lines["Battery discharge"] == [[T0 + HOUR, 30.0], [T0 + HOUR + 900_000, 30.0]]
    assert lines["Battery charge"][0] == [T0 + HOUR, 0.0]
    soc = view.soc_price_chart(plan, "Europe/Rome")
    assert [axis["name"] for axis in soc["yAxis"]] == ["SOC %", "EUR/kWh"]
    lines = {s["name"]: s["data"] for s in soc["series"]}
    # from the SOC it started at, to the SOC at the end of the step
    assert lines["SOC BESS [%]"] == [[T0 + HOUR, 50.0], [T0 + HOUR + 900_000, 42.1]]
    assert lines["Import price [EUR/kWh]"][0] == [T0 + HOUR, 0.4]


def test_status_line_in_the_sites_time():
    line = view.status_line(_plan(), "Europe/Rome", "saved today €1.50 vs no battery")
    assert line.split(" \u00b7 ") == [
        "Planned 2026-12-04 14:05 CET", "optimal", "0.25 h from 14:00",
        "plan saves €2.00 vs no battery", "saved today €1.50 vs no battery",
    ]  # fmt: skip


def test_kpi_periods_as_local_days():
    # "this month" on 4 December at 14:00 Rome: from 1 December, 4 local days
    start = int(datetime(2026, 11, 30, 23, 0, tzinfo=UTC).timestamp() * 1000)
    assert savings_days(start, T0, "Europe/Rome") == (date(2026, 12, 1), 4)
    assert savings_days(T0 - 7 * 86_400_000, T0, "Europe/Rome") == (date(2026, 11, 27), 8)
