"""Shared builders for the flexibility tests: a deterministic 96-step day at 15 min."""

from __future__ import annotations

import numpy as np

from gridpilot.analytics.flex import (
    Battery,
    DeferrableLoad,
    EVSession,
    FlexProblem,
    Flows,
    SiteLimits,
)

STEPS, STEP_H = 96, 0.25
#: 1 W, the largest power-balance residual any schedule may have.
RESIDUAL_KW = 1e-3


def tou_price(steps: int = STEPS) -> np.ndarray:
    """0.12 EUR/kWh at night, 0.30 from 08:00 to 20:00, 0.45 from 17:00 to 20:00."""
    hour = np.arange(steps) * 24 / steps
    price = np.where((hour >= 8) & (hour < 20), 0.30, 0.12)
    return np.where((hour >= 17) & (hour < 20), 0.45, price)


def pv_kw(peak_kw: float, steps: int = STEPS) -> np.ndarray:
    hour = np.arange(steps) * 24 / steps
    return peak_kw * np.clip(np.sin(np.pi * (hour - 6) / 13), 0, None)


def load_kw(steps: int = STEPS) -> np.ndarray:
    hour = np.arange(steps) * 24 / steps
    return 20 + 15 * np.exp(-((hour - 18.5) ** 2) / 4) + 8 * np.exp(-((hour - 8) ** 2) / 2)


def battery(**overrides: object) -> Battery:
    settings: dict[str, object] = dict(
        name="bess",
        capacity_kwh=100.0,
        charge_max_kw=40.0,
        discharge_max_kw=40.0,
        soc_start_frac=0.5,
        soc_min_frac=0.1,
        soc_max_frac=0.9,
        charge_efficiency=0.95,
        discharge_efficiency=0.95,
        wear_cost_eur_per_kwh=0.01,
    )
    settings.update(overrides)
    return Battery(**settings)  # type: ignore[arg-type]


def full_site() -> FlexProblem:
    """PV, a battery, an EV and two deferrable loads under a contract and an export limit."""
    return FlexProblem(
        step_h=STEP_H,
        load_kw=load_kw(),
        pv_kw=pv_kw(60.0),
        import_price_eur_per_kwh=tou_price(),
        export_price_eur_per_kwh=0.05,
        batteries=[battery()],
        ev_sessions=[EVSession("car", 36, 70, 30.0, power_max_kw=11.0, power_min_kw=1.4)],
        deferrable_loads=[
            DeferrableLoad("pump", 12.0, 4.0, 4.0, window_start_step=20, window_end_step=80),
            DeferrableLoad("oven", 9.0, 6.0, 3.0, interruptible=False, min_run_steps=4),
        ],
        limits=SiteLimits(import_max_kw=90.0, export_max_kw=30.0),
        demand_charge_eur_per_kw=8.0,
        incumbent_peak_kw=40.0,
    )


def simulated_soc(problem: FlexProblem, flows: Flows, name: str) -> np.ndarray:
    """The SOC [kWh] that the charge and discharge of ``flows`` imply, step by step."""
    b = next(b for b in problem.batteries if b.name == name)
    plan = flows.batteries[name]
    delta = problem.step_h * (
        b.charge_efficiency * plan.charge_kw - plan.discharge_kw / b.discharge_efficiency
    )
    return b.soc_start_kwh + np.cumsum(delta)
