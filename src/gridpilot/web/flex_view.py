"""The dashboard's flexibility parts (pure): a schedule's two charts on the site's wall clock,
its status line, and the savings per day for the KPI page.

Chart 1, power [kW]: forecast load and PV as lines, the plan's grid exchange (import above
the axis, export below) and battery (discharge above, charge below) as areas. Chart 2: each
battery's state of charge [%] at the end of each step and the import and export prices
[EUR/kWh] as steps on a second axis. Times are drawn with ECharts' ``useUTC`` on ``wall_ms``,
so the axis reads the site's local time whatever the browser's zone (as ``dr_view``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gridpilot.core.timestamps import to_ms
from gridpilot.flex.savings_schemas import FlexSavingsOut
from gridpilot.flex.schedule_schemas import ScheduleOut
from gridpilot.web.charts import time_chart
from gridpilot.web.dr_view import wall_ms
from gridpilot.web.numbers import local_datetime, money
from gridpilot.web.palette import CONTRACT, GREY, colour

SOC_COLOURS = ("#26a69a", "#7e57c2", "#5c6bc0", "#8d6e63")
PRICE = "#fbc02d"
EXPORT_PRICE = "#9e9d24"


def _steps(plan: ScheduleOut, zone: str) -> list[int]:
    """The wall-clock time of each step's start and of the plan's end (so steps cover it)."""
    stamps = [to_ms(s.ts) for s in plan.steps]
    return [wall_ms(t, zone) for t in [*stamps, to_ms(plan.end)]]


def _line(name: str, stamps: list[int], values: list[float], colour_: str, **style: Any) -> dict:
    data = [[t, round(v, 3) + 0.0] for t, v in zip(stamps, [*values, values[-1]], strict=True)]
    return {"name": name, "type": "line", "showSymbol": False, "step": "end", "color": colour_,
            "data": data, **style}  # fmt: skip


def power_chart(plan: ScheduleOut, zone: str) -> dict[str, Any]:
    """The plan's powers [kW] per step (see the module docstring); empty without steps."""
    options = time_chart({}, unit="kW")
    options["useUTC"] = True
    if not plan.steps:
        return options
    t = _steps(plan, zone)
    s = plan.steps
    area = {"areaStyle": {"opacity": 0.3}, "lineStyle": {"width": 1}}
    discharge = [sum(b.discharge_kw for b in x.batteries.values()) for x in s]
    charge = [-sum(b.charge_kw for b in x.batteries.values()) for x in s]
    options["series"] = [
        _line("Load forecast", t, [x.load_kw for x in s], colour("consumption"),
              lineStyle={"width": 2}),
        _line("PV forecast", t, [x.pv_kw for x in s], colour("generation"), lineStyle={"width": 2}),
        _line("Grid import", t, [x.grid_import_kw for x in s], colour("import"), **area),
        _line("Grid export", t, [-x.grid_export_kw for x in s], colour("export"), **area),
    ]  # fmt: skip
    if any(x.batteries for x in s):
        options["series"] += [
            _line("Battery discharge", t, discharge, colour("discharge"), **area),
            _line("Battery charge", t, charge, colour("charge"), **area),
        ]
    shifted = [sum(x.deferrable_kw.values()) + sum(x.ev_kw.values()) for x in s]
    if any(shifted):
        options["series"].append(
            _line("Shifted loads (EV, deferrable)", t, shifted, CONTRACT,
                  lineStyle={"width": 1.5, "type": "dashed"})
        )  # fmt: skip
    return options


def soc_price_chart(plan: ScheduleOut, zone: str) -> dict[str, Any]:
    """Each battery's SOC [%] (left axis, 0-100) and the prices [EUR/kWh] (right axis)."""
    options = time_chart({}, unit="%")
    options["useUTC"] = True
    options["yAxis"] = [
        {**options["yAxis"], "min": 0, "max": 100, "name": "SOC %"},
        {"type": "value", "name": "EUR/kWh", "position": "right",
         "axisLabel": {":formatter": "(v) => v.toLocaleString()"}, "splitLine": {"show": False}},
    ]  # fmt: skip
    options["grid"]["right"] = 8
    options["tooltip"].pop(":valueFormatter", None)
    if not plan.steps:
        return options
    t = _steps(plan, zone)
    s = plan.steps
    names = sorted({name for x in s for name in x.batteries})
    for i, name in enumerate(names):
        soc = [x.batteries[name].soc_pct if name in x.batteries else 0.0 for x in s]
        # SOC is at the end of each step: drawn at the step's end, from the start SOC
        start = _start_soc(plan, name, soc[0])
        data = [[t[0], round(start, 1)]] + [
            [tt, round(v, 1)] for tt, v in zip(t[1:], soc, strict=True)
        ]
        options["series"].append({"name": f"SOC {name} [%]", "type": "line", "showSymbol": False,
                                  "color": SOC_COLOURS[i % len(SOC_COLOURS)],
                                  "lineStyle": {"width": 2}, "data": data})  # fmt: skip
    options["series"] += [
        _line("Import price [EUR/kWh]", t, [x.price_eur_per_kwh for x in s], PRICE,
              yAxisIndex=1, lineStyle={"width": 1.5}),
        _line("Export price [EUR/kWh]", t, [x.export_price_eur_per_kwh for x in s],
              EXPORT_PRICE, yAxisIndex=1, lineStyle={"width": 1.5, "type": "dotted"}),
    ]  # fmt: skip
    return options


def _start_soc(plan: ScheduleOut, name: str, otherwise: float) -> float:
    """The battery's SOC [%] the plan started from (``inputs.batteries``)."""
    batteries = plan.inputs.get("batteries")
    found = batteries.get(name) if isinstance(batteries, dict) else None
    start = found.get("start_pct") if isinstance(found, dict) else None
    return float(start) if isinstance(start, int | float) else otherwise


def _eur(amount: Any) -> str:
    """``€5.78``: a money amount [EUR] as the other pages write it (display only)."""
    return money(float(amount), "EUR")


def status_line(plan: ScheduleOut, zone: str, saving: str | None = None) -> str:
    """``Planned 2026-12-04 14:05 CET · optimal · 24 h from 14:00 · saved today €5.78 ...``."""
    method = plan.status if plan.status == "fallback" else f"optimal ({plan.solver_status})"
    if plan.solver_status == "optimal" and plan.status == "optimal":
        method = "optimal"
    hours = plan.horizon_steps * plan.step_s / 3600
    start = datetime.fromtimestamp(wall_ms(to_ms(plan.start), zone) / 1000).strftime("%H:%M")
    parts = [
        f"Planned {local_datetime(to_ms(plan.created_at), zone)}",
        method,
        f"{hours:g} h from {start}",
        f"plan saves {_eur(plan.savings.saving_vs_no_battery_eur)} vs no battery",
    ]
    if saving is not None:
        parts.append(saving)
    return " \u00b7 ".join(parts)


def savings_today(found: FlexSavingsOut) -> str:
    """``saved today €5.78 vs no battery, €6.19 vs rule-based`` (measured so far)."""
    p = found.total
    if p.measured_intervals == 0:
        return "nothing measured today yet"
    return (
        f"saved today {_eur(p.saving_vs_no_battery_eur)} vs no battery, "
        f"{_eur(p.saving_vs_rule_based_eur)} vs rule-based"
    )


def savings_bars(found: FlexSavingsOut) -> dict[str, Any]:
    """Saving per period [EUR] against each reference, one pair of bars per local day."""
    labels = [p.period for p in found.periods]
    return {
        "animation": False,
        "textStyle": {"color": GREY},
        "tooltip": {"trigger": "axis", ":valueFormatter": "(v) => v.toFixed(2) + ' EUR'"},
        "legend": {"top": 0, "textStyle": {"color": GREY}},
        "grid": {"left": 8, "right": 16, "top": 40, "bottom": 8, "containLabel": True},
        "xAxis": {"type": "category", "data": labels, "axisLabel": {"hideOverlap": True}},
        "yAxis": {"type": "value", "name": "EUR",
                  "splitLine": {"lineStyle": {"color": "rgba(140,140,140,0.25)"}}},
        "series": [
            {"name": "vs no battery", "type": "bar", "color": colour("discharge"),
             "data": [float(p.saving_vs_no_battery_eur) for p in found.periods]},
            {"name": "vs rule-based", "type": "bar", "color": colour("import"),
             "data": [float(p.saving_vs_rule_based_eur) for p in found.periods]},
        ],
    }  # fmt: skip


def no_plan_text(site_id: int) -> str:
    return (
        "No schedule yet: the MPC plans resources with auto dispatch every 15 minutes; "
        f"POST /api/v1/sites/{site_id}/schedule or `gridpilot flex plan {site_id}` plans now."
    )
