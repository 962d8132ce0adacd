"""Demand-response dispatch: which flexible resources meet a reduction target, and how to
release them after the event without a rebound peak. Pure (no I/O); HiGHS through
``analytics.flex.lp`` (the flexibility optimiser's builder).

**Plan** (``plan_reduction``). Per event interval t (``step_min`` minutes) and resource i the
reduction ``r[i, t]`` [kW] below what the site would otherwise draw:

    minimise   sum_{i,t} c_i * r[i,t] * dt  +  M * sum_t s[t] * dt              [EUR]
    subject to sum_i r[i,t] + s[t] >= target[t]                                  (each t)
               0 <= r[i,t] <= max_kw_i * avail[i,t]
               r[i,t] = max_kw_i * u[i,t],  u binary          (on/off: a curtailable load)
               r[i,t] <= max_kw_i * u[i,t], sum_t u[i,t] * dt <= max_duration_i (duration cap)
               sum_t r[i,t] * dt <= energy_kwh_i                (battery: energy above SOC floor)
               s[t] >= 0                                        (shortfall, penalty M EUR/kWh)

``c_i`` is the resource's cost or discomfort per kWh of reduction (EUR/kWh) plus its rebound
(``rebound_frac`` x ``rebound_eur_per_kwh``: the energy consumed again later). A target the
resources cannot meet is not infeasible: the shortfall says by how much, per interval. The
kinds are constructors of ``Shed``: ``curtailable`` (on/off), ``dimming`` (lighting: any part,
duration cap), ``deferral`` (a deferrable load: any part, energy cap = what it can make up
later, rebound 100 % without its price: the energy is moved, not bought twice), ``hvac``,
``battery`` (energy cap above the SOC floor) and ``ev_charger`` (availability per interval).

**Restore** (``restore_plan``). After the end, the reductions still held are released step by
step so that the site's projected demand

    load[k] = baseline[k] - sum_i held_i[k] + sum_i rebound_i[k]

never exceeds the pre-event level P. A resource released by x kW at step k draws x again and,
with ``rebound_frac`` f, an extra f * x for as many steps as it was held (the shed energy's
share f comes back over as long a time as it was shed). At each step the headroom
``P - load[k]`` is given out in order of rebound (least first, then the plan's order): a
continuous resource releases ``min(held, headroom / (1 + f), max_step_kw)`` (an HVAC setpoint
goes back a degree per step), an on/off resource all or nothing, and at most one on/off
resource per step (loads restart one after the other). At the last step whatever is still
held is released (``forced``).

References: the load-shed and setpoint-offset strategies of Motegi et al., "Introduction to
Commercial Building Control Strategies and Techniques for Demand Response", LBNL-59975 (2007),
ch. 4 (stepped release "to avoid rebound peaks"); HiGHS: Huangfu and Hall, "Parallelizing the
dual revised simplex method", Math. Prog. Comp. 10 (2018).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import numpy as np

from gridpilot.analytics.flex.lp import LpBuilder
from gridpilot.core.errors import ValidationFailed

#: Penalty of a kWh of the target not met [EUR/kWh]: above any resource's cost.
SHORTFALL_EUR_PER_KWH = 1000.0
#: Default price of the energy a rebound consumes again later [EUR/kWh].
REBOUND_EUR_PER_KWH = 0.25
#: Reductions below this are none [kW].
EPS_KW = 1e-6


@dataclass(frozen=True)
class Shed:
    """What one resource can give: up to ``max_kw`` [kW] of reduction at ``cost_eur_per_kwh``.

    ``on_off``: all of ``max_kw`` or nothing (a load switched off). ``max_duration_min``: the
    longest time it may be reduced within the event [min]. ``energy_kwh``: the most energy it
    may give over the event [kWh] (a battery above its SOC floor). ``available``: per event
    interval whether it can reduce at all (an EV charger with no car plugged in cannot).
    ``rebound_frac``: the share of the shed energy consumed again after its release [0-1].
    """

    name: str
    max_kw: float
    cost_eur_per_kwh: float
    on_off: bool = False
    max_duration_min: float | None = None
    energy_kwh: float | None = None
    available: tuple[bool, ...] | None = None
    rebound_frac: float = 0.0

    def __post_init__(self) -> None:
        figures = (self.max_kw, self.cost_eur_per_kwh, self.rebound_frac)
        if not all(math.isfinite(v) and v >= 0 for v in figures):
            raise ValidationFailed(f"{self.name}: max_kw, cost and rebound must be finite, >= 0")
        if self.energy_kwh is not None and not self.energy_kwh >= 0:
            raise ValidationFailed(f"{self.name}: energy_kwh must be >= 0")


def curtailable(
    name: str,
    *,
    shed_kw: float,
    cost_eur_per_kwh: float,
    max_duration_min: float | None = None,
    rebound_pct: float = 0.0,
    rebound_eur_per_kwh: float = REBOUND_EUR_PER_KWH,
) -> Shed:
    """A load switched off whole (``shed_kw``), for at most ``max_duration_min``."""
    frac = rebound_pct / 100
    return Shed(
        name, shed_kw, cost_eur_per_kwh + frac * rebound_eur_per_kwh, on_off=True,
        max_duration_min=max_duration_min, rebound_frac=frac,
    )  # fmt: skip


def hvac(
    name: str,
    *,
    kw_per_degc: float,
    max_offset_degc: float,
    discomfort_eur_per_degc_h: float,
    max_duration_min: float | None = None,
    rebound_pct: float = 0.0,
    rebound_eur_per_kwh: float = REBOUND_EUR_PER_KWH,
) -> Shed:
    """A setpoint offset: ``kw_per_degc`` [kW/degC] up to ``max_offset_degc``; a degree held
    for an hour costs ``discomfort_eur_per_degc_h``, i.e. that / ``kw_per_degc`` per kWh."""
    frac = rebound_pct / 100
    cost = discomfort_eur_per_degc_h / kw_per_degc + frac * rebound_eur_per_kwh
    return Shed(
        name, kw_per_degc * max_offset_degc, cost, max_duration_min=max_duration_min,
        rebound_frac=frac,
    )  # fmt: skip


def dimming(
    name: str,
    *,
    dim_kw: float,
    cost_eur_per_kwh: float,
    max_duration_min: float | None = None,
    rebound_pct: float = 0.0,
    rebound_eur_per_kwh: float = REBOUND_EUR_PER_KWH,
) -> Shed:
    """Lighting dimmed by any amount up to ``dim_kw`` [kW] (continuous, where a load switched
    off gives all or nothing), for at most ``max_duration_min``; ``cost_eur_per_kwh`` is the
    discomfort of a kWh of light not given."""
    frac = rebound_pct / 100
    return Shed(
        name, dim_kw, cost_eur_per_kwh + frac * rebound_eur_per_kwh,
        max_duration_min=max_duration_min, rebound_frac=frac,
    )  # fmt: skip


def deferral(name: str, *, defer_kw: float, deferrable_kwh: float, cost_eur_per_kwh: float) -> Shed:
    """A deferrable load held up to ``defer_kw`` [kW] below what it draws. The energy held back
    is made up after the release (``rebound_frac`` 1: shifted, not lost), so at most
    ``deferrable_kwh`` [kWh], what it can make up before its window closes, and its cost is
    that of the shift alone (``cost_eur_per_kwh``), not of energy bought twice."""
    return Shed(name, defer_kw, cost_eur_per_kwh, energy_kwh=deferrable_kwh, rebound_frac=1.0)


def battery(
    name: str,
    *,
    discharge_max_kw: float,
    capacity_kwh: float,
    soc_pct: float,
    soc_min_pct: float,
    discharge_efficiency: float = 1.0,
    cost_eur_per_kwh: float = 0.0,
) -> Shed:
    """Discharge up to ``discharge_max_kw``, at most the energy above the SOC floor delivered
    at the connection point: ``(soc - soc_min) / 100 * capacity * discharge_efficiency``."""
    energy = max(0.0, soc_pct - soc_min_pct) / 100 * capacity_kwh * discharge_efficiency
    return Shed(name, discharge_max_kw, cost_eur_per_kwh, energy_kwh=energy)


def ev_charger(
    name: str,
    *,
    power_max_kw: float,
    power_min_kw: float,
    cost_eur_per_kwh: float,
    available: Sequence[bool] | None = None,
) -> Shed:
    """Lower the charging limit from ``power_max_kw`` down to ``power_min_kw`` while a car is
    plugged in (``available`` per interval; None: throughout)."""
    avail = None if available is None else tuple(bool(a) for a in available)
    return Shed(name, power_max_kw - power_min_kw, cost_eur_per_kwh, available=avail)


@dataclass(frozen=True)
class ReductionPlan:
    """``reduction_kw[name]`` per interval [kW], ``shortfall_kw`` per interval, the cost of
    the reductions [EUR, 2 decimals, half up] (without the shortfall's penalty)."""

    status: str
    reduction_kw: dict[str, list[float]]
    shortfall_kw: list[float]
    cost_eur: Decimal
    solve_time_s: float

    def total_kw(self) -> list[float]:
        n = len(self.shortfall_kw)
        return [sum(v[t] for v in self.reduction_kw.values()) for t in range(n)]


def _columns(lp: LpBuilder, s: Shed, n: int, dt: float) -> np.ndarray:
    """The reduction columns of one resource (and its rows); their indices."""
    avail = np.ones(n) if s.available is None else np.asarray(s.available, dtype=float)
    if avail.size != n:
        raise ValidationFailed(f"{s.name}: available has {avail.size} values for {n} intervals")
    binary = s.on_off or s.max_duration_min is not None
    r = lp.add_columns(n, 0.0, s.max_kw * avail, s.cost_eur_per_kwh * dt)
    if binary:
        u = lp.add_columns(n, 0.0, avail, 0.0, integer=True)
        if s.on_off:  # r = max * u
            lp.add_rows([(r, 1.0), (u, -s.max_kw)], 0.0, 0.0)
        else:  # r <= max * u
            lp.add_rows([(r, 1.0), (u, -s.max_kw)], -np.inf, 0.0)
        if s.max_duration_min is not None:
            lp.add_sum_row(u, dt, 0.0, s.max_duration_min / 60 + 1e-9)
    if s.energy_kwh is not None:
        lp.add_sum_row(r, dt, 0.0, s.energy_kwh)
    return r


def plan_reduction(
    resources: Sequence[Shed],
    target_kw: Sequence[float],
    *,
    step_min: float = 15.0,
    shortfall_eur_per_kwh: float = SHORTFALL_EUR_PER_KWH,
    time_limit_s: float = 5.0,
) -> ReductionPlan:
    """The least-cost reductions meeting ``target_kw`` (per interval of ``step_min``) [kW]."""
    n = len(target_kw)
    target = np.asarray(target_kw, dtype=float)
    if n == 0 or not np.all(np.isfinite(target)) or np.any(target < 0):
        raise ValidationFailed("target_kw needs one finite value >= 0 per interval")
    if len({s.name for s in resources}) != len(resources):
        raise ValidationFailed("resource names must be distinct")
    dt = step_min / 60
    lp = LpBuilder()
    cols = [_columns(lp, s, n, dt) for s in resources]
    short = lp.add_columns(n, 0.0, target, shortfall_eur_per_kwh * dt)
    lp.add_rows([(c, 1.0) for c in cols] + [(short, 1.0)], target, np.inf)
    solution = lp.solve(time_limit_s=time_limit_s, mip_abs_gap=1e-6, mip_rel_gap=1e-9)
    if solution.values is None:
        zero = {s.name: [0.0] * n for s in resources}
        shortfall = [float(v) for v in target]
        return ReductionPlan(
            solution.status, zero, shortfall, Decimal("0.00"), solution.solve_time_s
        )
    x = solution.values
    reduction = {s.name: [_clean(v) for v in x[c]] for s, c in zip(resources, cols, strict=True)}
    cost = sum(s.cost_eur_per_kwh * sum(reduction[s.name]) * dt for s in resources)
    return ReductionPlan(
        solution.status, reduction, [_clean(v) for v in x[short]],
        Decimal(str(cost)).quantize(Decimal("0.01"), ROUND_HALF_UP), solution.solve_time_s,
    )  # fmt: skip


def _clean(value: float) -> float:
    return 0.0 if abs(value) < EPS_KW else round(float(value), 6)


@dataclass(frozen=True)
class Held:
    """A reduction still held at the end of the event: ``kw`` [kW], held for ``held_steps``
    intervals, rebound share ``rebound_frac``; ``on_off`` releases all at once; at most
    ``max_step_kw`` [kW] released per step (None: no limit)."""

    name: str
    kw: float
    rebound_frac: float = 0.0
    held_steps: int = 1
    on_off: bool = False
    max_step_kw: float | None = None


@dataclass
class RestorePlan:
    """``held_kw[name][k]``: what each resource still holds during restore step k [kW];
    ``load_kw[k]``: the projected site demand [kW]; ``forced``: released at the last step
    whatever the headroom."""

    held_kw: dict[str, list[float]]
    load_kw: list[float]
    forced: list[str] = field(default_factory=list)


def restore_plan(
    held: Sequence[Held],
    *,
    baseline_kw: Sequence[float],
    pre_event_kw: float,
) -> RestorePlan:
    """Release ``held`` over the intervals of ``baseline_kw`` (the site's expected demand
    after the end [kW]) without the projected demand exceeding ``pre_event_kw``."""
    steps = len(baseline_kw)
    if steps == 0:
        raise ValidationFailed("restore needs at least one interval")
    order = sorted(range(len(held)), key=lambda i: (held[i].rebound_frac, i))
    now = {h.name: h.kw for h in held}
    out: dict[str, list[float]] = {h.name: [] for h in held}
    rebounds: list[tuple[int, float]] = []  # (last step, extra kW)
    loads: list[float] = []
    forced: list[str] = []
    for k in range(steps):
        active = sum(kw for last, kw in rebounds if k <= last)
        headroom = pre_event_kw - (baseline_kw[k] - sum(now.values()) + active)
        last_step = k == steps - 1
        restarted = False
        for i in order:
            h = held[i]
            if now[h.name] <= EPS_KW:
                continue
            need = now[h.name] * (1 + h.rebound_frac)
            if last_step and need > headroom + EPS_KW:
                x = now[h.name]
                forced.append(h.name)
            elif h.on_off:
                fits = need <= headroom + EPS_KW and not restarted
                x = now[h.name] if fits else 0.0
                restarted = restarted or fits
            else:
                x = min(now[h.name], max(0.0, headroom) / (1 + h.rebound_frac))
                x = x if h.max_step_kw is None else min(x, h.max_step_kw)
            if x <= EPS_KW:
                continue
            now[h.name] = _clean(now[h.name] - x)
            headroom -= x * (1 + h.rebound_frac)
            if h.rebound_frac > 0:
                rebounds.append((k + h.held_steps - 1, x * h.rebound_frac))
        for h in held:
            out[h.name].append(now[h.name])
        active = sum(kw for last, kw in rebounds if k <= last)
        loads.append(round(baseline_kw[k] - sum(now.values()) + active, 6))
    return RestorePlan(out, loads, forced)
