"""From an event and the site's flexible resources to dispatch steps (pure but for the
resource list, read by ``dispatch.py``): the reduction each resource gives, and the command
that carries it out.

- ``curtailable_load``: ``shed_kw`` whole (on/off), at most ``max_duration_min``; held:
  ``stop``, released: ``start``;
- ``hvac``: ``kw_per_degc`` x offset, offset <= ``max_offset_degc`` (rounded up to 0.1 degC);
  ``setpoint`` ``temperature_c`` = base + offset, released: base (+ what is still held);
- ``battery``: discharge <= ``discharge_max_kw`` within the energy above ``soc_min_pct`` (the
  measured SOC, else ``soc_start_pct``); ``discharge`` ``power_kw``, ``min_soc_pct``,
  ``duration_s`` to the step's end; released: ``stop`` during the event, none after it (the
  duration runs out);
- ``ev_charger``: ``power_max_kw - power_min_kw`` while a car is plugged in (its sessions);
  ``set_power_limit`` ``limit_kw`` = max - reduction, released: max.

Costs [EUR/kWh of reduction]: a curtailable load's ``cost_eur_per_kwh`` (value of the energy
not served), a battery's wear (half its ``cycle_cost_eur_per_kwh``), an HVAC offset's
``DISCOMFORT_EUR_PER_DEGC_H`` / ``kw_per_degc``, an EV charger's ``EV_DELAY_EUR_PER_KWH``; a
rebound adds its share of ``REBOUND_EUR_PER_KWH``. The HVAC base setpoint is the linked
asset's ``setpoint_c`` attribute, else ``HVAC_BASE_SETPOINT_C``; in ``hvac_mode: heating`` the
offset lowers the setpoint, else raises it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from gridpilot.analytics import dr_dispatch as dd
from gridpilot.flex.schemas import (
    BatteryParams,
    CurtailableLoadParams,
    EVChargerParams,
    HvacParams,
    ResourceOut,
)

#: Discomfort of a degree of setpoint offset held for an hour [EUR/(degC h)].
DISCOMFORT_EUR_PER_DEGC_H = 2.0
#: Cost of a kWh of EV charging delayed [EUR/kWh].
EV_DELAY_EUR_PER_KWH = 0.30
#: Room setpoint an HVAC offset starts from when its asset does not say [degC].
HVAC_BASE_SETPOINT_C = 22.0


@dataclass(frozen=True)
class Candidate:
    """A resource the plan may use: its optimiser view and what its commands need."""

    resource: ResourceOut
    shed: dd.Shed
    base_setpoint_c: float | None = None
    heating: bool = False


def _available(r: ResourceOut, starts_ms: list[int], step_ms: int) -> tuple[bool, ...] | None:
    """Per interval whether an EV charger has a car (no sessions listed: always)."""
    assert isinstance(r.params, EVChargerParams)
    if not r.params.sessions:
        return None
    spans = [
        (int(s.arrival.timestamp() * 1000), int(s.departure.timestamp() * 1000))
        for s in r.params.sessions
    ]
    return tuple(any(a < t + step_ms and t < d for a, d in spans) for t in starts_ms)


def candidate(
    r: ResourceOut,
    *,
    starts_ms: list[int],
    step_ms: int,
    soc_pct: float | None,
    attributes: dict[str, Any],
) -> Candidate | None:
    """The resource as the plan sees it; None for a kind dispatch does not use."""
    p = r.params
    if isinstance(p, CurtailableLoadParams):
        shed = dd.curtailable(
            r.name, shed_kw=p.shed_kw, cost_eur_per_kwh=p.cost_eur_per_kwh,
            max_duration_min=p.max_duration_min, rebound_pct=p.rebound_pct,
        )  # fmt: skip
        return Candidate(r, shed)
    if isinstance(p, HvacParams):
        shed = dd.hvac(
            r.name, kw_per_degc=p.kw_per_degc, max_offset_degc=p.max_offset_degc,
            discomfort_eur_per_degc_h=DISCOMFORT_EUR_PER_DEGC_H,
            max_duration_min=p.max_duration_min,
        )  # fmt: skip
        base = attributes.get("setpoint_c")
        base_c = float(base) if isinstance(base, int | float) else HVAC_BASE_SETPOINT_C
        return Candidate(r, shed, base_c, attributes.get("hvac_mode") == "heating")
    if isinstance(p, BatteryParams):
        shed = dd.battery(
            r.name, discharge_max_kw=p.discharge_max_kw, capacity_kwh=p.capacity_kwh,
            soc_pct=p.soc_start_pct if soc_pct is None else soc_pct, soc_min_pct=p.soc_min_pct,
            discharge_efficiency=p.discharge_efficiency,
            cost_eur_per_kwh=p.cycle_cost_eur_per_kwh / 2,
        )  # fmt: skip
        return Candidate(r, shed)
    if isinstance(p, EVChargerParams):
        shed = dd.ev_charger(
            r.name, power_max_kw=p.power_max_kw, power_min_kw=p.power_min_kw,
            cost_eur_per_kwh=EV_DELAY_EUR_PER_KWH, available=_available(r, starts_ms, step_ms),
        )  # fmt: skip
        return Candidate(r, shed)
    return None


def command_for(
    c: Candidate, reduction_kw: float, duration_s: int, *, at_end: bool = False
) -> tuple[str, dict[str, Any]] | None:
    """The command holding ``reduction_kw`` [kW] for ``duration_s`` (None: none needed)."""
    p = c.resource.params
    held = reduction_kw > dd.EPS_KW
    if isinstance(p, CurtailableLoadParams):
        return ("stop", {}) if held else ("start", {})
    if isinstance(p, HvacParams):
        assert c.base_setpoint_c is not None
        offset = min(p.max_offset_degc, math.ceil(reduction_kw / p.kw_per_degc * 10 - 1e-9) / 10)
        sign = -1.0 if c.heating else 1.0
        return "setpoint", {"temperature_c": round(c.base_setpoint_c + sign * offset, 1)}
    if isinstance(p, BatteryParams):
        if not held:
            return None if at_end else ("stop", {})
        params = {"power_kw": round(reduction_kw, 3), "min_soc_pct": p.soc_min_pct}
        return "discharge", {**params, "duration_s": max(1, duration_s)}
    if isinstance(p, EVChargerParams):
        return "set_power_limit", {"limit_kw": round(p.power_max_kw - reduction_kw, 3)}
    return None


@dataclass(frozen=True)
class StepSpec:
    """One step to store: the resource holds ``reduction_kw`` over ``[start_ms, end_ms)``."""

    candidate: Candidate
    phase: str
    start_ms: int
    end_ms: int
    reduction_kw: float
    command: tuple[str, dict[str, Any]] | None


def shed_steps(
    candidates: list[Candidate],
    plan: dd.ReductionPlan,
    *,
    starts_ms: list[int],
    step_ms: int,
    from_ms: int,
) -> list[StepSpec]:
    """A step per block of equal reduction of each resource (leading zeros skipped); the
    first block starts at ``from_ms`` (a re-plan within an interval)."""
    out: list[StepSpec] = []
    end_ms = starts_ms[-1] + step_ms
    for c in candidates:
        series = plan.reduction_kw[c.shed.name]
        previous = 0.0
        for t, kw in enumerate(series):
            if math.isclose(kw, previous, abs_tol=1e-6):
                continue
            start = max(starts_ms[t], from_ms)
            stop = next(
                (starts_ms[u] for u in range(t + 1, len(series))
                 if not math.isclose(series[u], kw, abs_tol=1e-6)),
                end_ms,
            )  # fmt: skip
            command = command_for(c, kw, (stop - start) // 1000)
            out.append(StepSpec(c, "shed", start, stop, kw, command))
            previous = kw
    return sorted(out, key=lambda s: (s.start_ms, s.candidate.resource.id))


def restore_steps(
    candidates: dict[str, Candidate],
    held: list[dd.Held],
    *,
    baseline_kw: list[float],
    pre_event_kw: float,
    from_ms: int,
    step_ms: int,
) -> tuple[list[StepSpec], dd.RestorePlan]:
    """Steps releasing ``held`` from ``from_ms`` (``analytics.dr_dispatch.restore_plan``)."""
    plan = dd.restore_plan(held, baseline_kw=baseline_kw, pre_event_kw=pre_event_kw)
    out: list[StepSpec] = []
    for h in held:
        previous = h.kw
        c = candidates[h.name]
        timed = isinstance(c.resource.params, BatteryParams)  # a discharge lasts one step
        for k, kw in enumerate(plan.held_kw[h.name]):
            if math.isclose(kw, previous, abs_tol=1e-6) and not (timed and kw > dd.EPS_KW):
                continue
            start = from_ms + k * step_ms
            command = command_for(c, kw, step_ms // 1000, at_end=True)
            out.append(StepSpec(c, "restore", start, start + step_ms, kw, command))
            previous = kw
    return sorted(out, key=lambda s: (s.start_ms, s.candidate.resource.id)), plan
