"""Real-time peak shaving with a battery: one control cycle as a pure function.

As OpenEMS's ``Controller.Ess.PeakShaving`` (openems/io.openems.edge.controller.ess.
peakshaving): the site demand without the battery is the measured grid import plus the
battery's current power (positive = discharge). Above ``threshold_kw`` the battery discharges
the excess; below ``recharge_below_kw`` (default: the threshold) it charges with the headroom,
so charging never lifts the import above that level; in between it idles. Powers are capped by
the battery's limits. SOC hysteresis: discharging stops at ``soc_min_pct`` and resumes only
once the SOC is back above ``soc_min_pct + soc_hysteresis_pct`` (the state carries that
latch from one cycle to the next); charging stops at ``soc_max_pct``.

Beside a schedule (``base_kw``: the battery power the day-ahead/MPC plan gives for the step
holding now), the plan is followed as long as it keeps the import at or under the threshold;
otherwise the battery discharges more (or charges less) by exactly what brings the import back
to the threshold, within its discharge limit. Recharging is then the plan's business (the MPC
re-plans from the measured SOC), so nothing is charged beyond what it planned.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gridpilot.core.errors import ValidationFailed


@dataclass(frozen=True)
class PeakShavingSettings:
    threshold_kw: float
    discharge_max_kw: float
    charge_max_kw: float
    soc_min_pct: float = 10.0
    soc_max_pct: float = 100.0
    soc_hysteresis_pct: float = 5.0
    recharge_below_kw: float | None = None

    def __post_init__(self) -> None:
        figures: tuple[float, ...] = (self.threshold_kw, self.discharge_max_kw, self.charge_max_kw)
        figures += (self.soc_min_pct, self.soc_max_pct, self.soc_hysteresis_pct)
        if not all(math.isfinite(v) for v in figures):
            raise ValidationFailed("peak shaving: every setting must be a finite number")
        if self.discharge_max_kw < 0 or self.charge_max_kw < 0 or self.soc_hysteresis_pct < 0:
            raise ValidationFailed("peak shaving: power limits and hysteresis must be >= 0")
        if not 0 <= self.soc_min_pct < self.soc_max_pct <= 100:
            raise ValidationFailed("peak shaving: need 0 <= soc_min_pct < soc_max_pct <= 100")
        recharge = self.recharge_level_kw
        if not math.isfinite(recharge) or recharge > self.threshold_kw:
            raise ValidationFailed("peak shaving: recharge_below_kw must be <= threshold_kw")

    @property
    def recharge_level_kw(self) -> float:
        return self.threshold_kw if self.recharge_below_kw is None else self.recharge_below_kw


@dataclass(frozen=True)
class PeakShavingState:
    """Carried between cycles: whether discharging is blocked by the SOC hysteresis."""

    discharge_blocked: bool = False


@dataclass(frozen=True)
class SetPoint:
    """The battery power to command [kW] (positive = discharge, negative = charge), the state
    for the next cycle and why (``shave``, ``recharge``, ``idle``, ``soc_low``, ``soc_full``)."""

    battery_power_kw: float
    state: PeakShavingState
    reason: str


def peak_shaving_setpoint(
    settings: PeakShavingSettings,
    *,
    grid_import_kw: float,
    battery_power_kw: float,
    soc_pct: float,
    state: PeakShavingState | None = None,
    base_kw: float | None = None,
) -> SetPoint:
    """The set point for this cycle from the measured grid import [kW, negative = export],
    the battery's current power [kW, positive = discharge] and its SOC [%]; with ``base_kw``
    (the schedule's battery power for now [kW, positive = discharge]) the schedule is the base
    and shaving only raises the discharge (``reason`` ``schedule`` when the plan suffices)."""
    blocked = (state or PeakShavingState()).discharge_blocked
    if soc_pct <= settings.soc_min_pct:
        blocked = True
    elif blocked and soc_pct > settings.soc_min_pct + settings.soc_hysteresis_pct:
        blocked = False
    new_state = PeakShavingState(blocked)
    demand_kw = grid_import_kw + battery_power_kw
    if base_kw is not None:
        return _around_base(settings, demand_kw, base_kw, new_state)
    if demand_kw > settings.threshold_kw:
        if blocked:
            return SetPoint(0.0, new_state, "soc_low")
        power = min(demand_kw - settings.threshold_kw, settings.discharge_max_kw)
        return SetPoint(power, new_state, "shave")
    if demand_kw < settings.recharge_level_kw:
        if soc_pct >= settings.soc_max_pct:
            return SetPoint(0.0, new_state, "soc_full")
        power = min(settings.recharge_level_kw - demand_kw, settings.charge_max_kw)
        return SetPoint(-power, new_state, "recharge")
    return SetPoint(0.0, new_state, "idle")


def _around_base(
    settings: PeakShavingSettings, demand_kw: float, base_kw: float, state: PeakShavingState
) -> SetPoint:
    """Follow the schedule's ``base_kw`` unless the import would exceed the threshold; then
    the least discharge (or the most charge) that keeps it there, ``demand - threshold``."""
    floor_kw = demand_kw - settings.threshold_kw  # the battery power that makes import = threshold
    if base_kw >= floor_kw:
        return SetPoint(base_kw, state, "schedule")
    if floor_kw <= 0:  # the plan charges too hard: charge only what the headroom allows
        return SetPoint(floor_kw, state, "limit_charge")
    if state.discharge_blocked:  # no shaving discharge; the plan's own discharge stays
        return SetPoint(max(base_kw, 0.0), state, "soc_low")
    return SetPoint(min(floor_kw, max(settings.discharge_max_kw, base_kw)), state, "shave")
