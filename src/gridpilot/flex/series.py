"""A plan's per-step series as stored (columnar JSON) and as answered (one object per step).

Stored: ``{"load_kw": [...], "pv_kw", "pv_curtailed_kw", "import_kw", "export_kw",
"price_eur_per_kwh", "export_price_eur_per_kwh", "batteries": {name: {"charge_kw",
"discharge_kw", "soc_pct"}}, "deferrable_kw": {name: [...]}, "ev_kw": {...}, "shed_kw": {...},
"max_balance_residual_w": float}``, resources by their name, kW rounded to 1 mW (6 decimals),
so the stored terms still balance far within 1 W per step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from gridpilot.analytics.flex import Schedule
from gridpilot.core.timestamps import iso
from gridpilot.flex.models import FlexSchedule
from gridpilot.flex.planning import Problem
from gridpilot.flex.schedule_schemas import (
    BatteryStepOut,
    ConflictOut,
    CostOut,
    SavingsOut,
    ScheduleOut,
    StepOut,
)

DECIMALS = 6


def _list(values: np.ndarray) -> list[float]:
    return [round(float(v), DECIMALS) + 0.0 for v in values]


def _by_resource(series: Mapping[str, np.ndarray], label: dict[str, str]) -> dict[str, list[float]]:
    """Sum the internal parts (a load's days, an EV's sessions) per resource name."""
    totals: dict[str, np.ndarray] = {}
    for name, values in series.items():
        key = label.get(name, name)
        totals[key] = totals[key] + values if key in totals else np.asarray(values, dtype=float)
    return {key: _list(values) for key, values in totals.items()}


def series_of(built: Problem, plan: Schedule) -> dict[str, Any]:
    problem, flows = built.problem, plan.flows
    batteries = {}
    for battery in problem.batteries:
        name = built.label[battery.name]
        b = flows.batteries[battery.name]
        batteries[name] = {
            "charge_kw": _list(b.charge_kw),
            "discharge_kw": _list(b.discharge_kw),
            "soc_pct": _list(100 * b.soc_kwh / battery.capacity_kwh),
        }
    residual = flows.balance_residual_kw(problem)
    return {
        "load_kw": _list(problem.load_kw),
        "pv_kw": _list(problem.pv_kw),
        "pv_curtailed_kw": _list(flows.pv_curtailed_kw),
        "import_kw": _list(flows.import_kw),
        "export_kw": _list(flows.export_kw),
        "price_eur_per_kwh": _list(problem.import_price_eur_per_kwh),
        "export_price_eur_per_kwh": _list(problem.export_price_eur_per_kwh),
        "batteries": batteries,
        "deferrable_kw": _by_resource(flows.deferrable_kw, built.label),
        "ev_kw": _by_resource(flows.ev_kw, built.label),
        "shed_kw": _by_resource(flows.shed_kw, built.label),
        "max_balance_residual_w": float(np.max(np.abs(residual))) * 1000,
    }


def _steps(row: FlexSchedule) -> list[StepOut]:
    s = row.series
    step_ms = row.step_s * 1000
    steps = []
    for t in range(row.horizon):
        steps.append(
            StepOut(
                ts=iso(row.start_ms + t * step_ms),
                load_kw=s["load_kw"][t],
                pv_kw=s["pv_kw"][t],
                pv_curtailed_kw=s["pv_curtailed_kw"][t],
                grid_import_kw=s["import_kw"][t],
                grid_export_kw=s["export_kw"][t],
                price_eur_per_kwh=s["price_eur_per_kwh"][t],
                export_price_eur_per_kwh=s["export_price_eur_per_kwh"][t],
                batteries={
                    name: BatteryStepOut(
                        charge_kw=b["charge_kw"][t],
                        discharge_kw=b["discharge_kw"][t],
                        soc_pct=b["soc_pct"][t],
                    )
                    for name, b in s["batteries"].items()
                },
                deferrable_kw={name: v[t] for name, v in s["deferrable_kw"].items()},
                ev_kw={name: v[t] for name, v in s["ev_kw"].items()},
                shed_kw={name: v[t] for name, v in s["shed_kw"].items()},
            )
        )
    return steps


def schedule_out(row: FlexSchedule) -> ScheduleOut:
    return ScheduleOut(
        id=row.id,
        site_id=row.site_id,
        created_at=iso(row.created_ms),
        created_by=row.created_by,
        start=iso(row.start_ms),
        end=iso(row.start_ms + row.horizon * row.step_s * 1000),
        step_s=row.step_s,
        horizon_steps=row.horizon,
        status=row.status,
        solver_status=row.solver_status,
        objective_eur=row.objective_eur,
        cost=CostOut(**row.cost),
        savings=SavingsOut(**row.savings),
        conflicts=[ConflictOut(**c) for c in row.conflicts],
        message=row.message,
        inputs=row.inputs,
        notes=row.notes,
        solve_time_ms=row.solve_time_ms,
        max_balance_residual_w=row.series["max_balance_residual_w"],
        steps=_steps(row),
    )
