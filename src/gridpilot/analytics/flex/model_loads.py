"""Columns and rows of the shiftable loads: EV sessions and deferrable loads.

Power columns exist for every step (upper bound 0 outside the window). Binaries appear only
when a load needs them: ``on_t`` for a positive minimum power (semi-continuous power:
``power_min_kw * on_t <= p_t <= power_max_kw * on_t``), ``start_t`` for a load that runs in one
block or has a minimum run time (``start_t >= on_t - on_{t-1}``; one block: ``sum start <= 1``;
minimum run of m steps: ``on_t >= sum_{k=t-m+1..t} start_k``), the usual unit-commitment
formulation (Rajan and Takriti, "Minimum up/down polytopes of the unit commitment problem",
IBM RC23628, 2005). Energy is an equality: ``sum_t p_t * step_h = energy due``, with a
non-negative shortfall column in the elastic model used to diagnose infeasibility; an
interruptible load whose window the horizon cuts takes a range instead
(``FlexProblem.deferrable_energy_kwh``). A one-block load whose window the horizon cuts must
end its run inside the horizon (its whole energy is due there), so it starts no later than
``min_run_steps`` before the end. A run is a run at positive power: a load with runs (one
block or a minimum run) and no minimum power draws at least its energy spread over its whole
window while on (``energy / window``: any run that fits the window can still carry it), so a
block never hides a step at 0 kW that would split it in two.
"""

from __future__ import annotations

import numpy as np

from .lp import IntArray, LpBuilder, Term
from .problem import FlexProblem
from .resources import DeferrableLoad, EVSession

#: Elastic model: EUR per kWh of energy a load does not get (dominates every real cost).
SHORTFALL_PENALTY_EUR_PER_KWH = 1e4


def _window_upper(steps: int, window: range, power_max_kw: float) -> np.ndarray:
    upper = np.zeros(steps)
    upper[window.start : window.stop] = power_max_kw
    return upper


def _on_off(
    lp: LpBuilder,
    power: IntArray,
    window: range,
    steps: int,
    power_min_kw: float,
    power_max_kw: float,
) -> IntArray:
    """Binary ``on`` columns tying the power to [min, max] when on, 0 when off."""
    on = lp.add_columns(steps, upper=_window_upper(steps, window, 1.0), integer=True)
    lp.add_rows([(power, 1.0), (on, -power_max_kw)], lower=-np.inf, upper=0.0)
    if power_min_kw > 0:
        lp.add_rows([(power, 1.0), (on, -power_min_kw)], lower=0.0, upper=np.inf)
    return on


def _starts(lp: LpBuilder, on: IntArray, load: DeferrableLoad, steps: int, ends: bool) -> None:
    """Start binaries for a one-block load and/or a minimum run time; ``ends``: every run
    ends inside the horizon, so none starts in its last ``min_run_steps - 1`` steps."""
    upper = np.ones(steps)
    if ends:
        upper[max(0, steps - load.min_run_steps + 1) :] = 0.0
    start = lp.add_columns(steps, upper=upper, integer=True)
    previous = np.concatenate(([on[0]], on[:-1]))
    previous_coeff = np.concatenate(([0.0], np.ones(steps - 1)))
    lp.add_rows([(start, 1.0), (on, -1.0), (previous, previous_coeff)], lower=0.0, upper=np.inf)
    if not load.interruptible:
        _at_most_one(lp, start)
    if load.min_run_steps > 1:
        t = np.arange(steps)
        terms: list[Term] = [(on, 1.0)]
        for lag in range(load.min_run_steps):
            cols = start[np.maximum(t - lag, 0)]
            terms.append((cols, np.where(t - lag >= 0, -1.0, 0.0)))
        lp.add_rows(terms, lower=0.0, upper=np.inf)


def _at_most_one(lp: LpBuilder, cols: IntArray) -> None:
    lp.add_sum_row(cols, np.ones(cols.size), lower=-np.inf, upper=1.0)


def _energy_row(
    lp: LpBuilder,
    power: IntArray,
    step_h: float,
    energy_kwh: float,
    elastic: bool,
    most_kwh: float | None = None,
) -> IntArray | None:
    """``energy <= sum p * step_h (+ shortfall) <= most`` (``most`` None: equal to
    ``energy``); returns the shortfall column if elastic."""
    cols, coeffs = power, np.full(power.size, step_h)
    shortfall = None
    if elastic:
        shortfall = lp.add_columns(1, cost=SHORTFALL_PENALTY_EUR_PER_KWH)
        cols, coeffs = np.concatenate((cols, shortfall)), np.concatenate((coeffs, [1.0]))
    upper = energy_kwh if most_kwh is None else most_kwh
    lp.add_sum_row(cols, coeffs, lower=energy_kwh, upper=upper)
    return shortfall


def add_ev(
    lp: LpBuilder, problem: FlexProblem, ev: EVSession, elastic: bool
) -> tuple[IntArray, IntArray | None]:
    """An EV session's power columns [kW] and, if elastic, its energy shortfall column [kWh]."""
    steps, window = problem.steps, problem.plug_window(ev)
    power = lp.add_columns(steps, upper=_window_upper(steps, window, ev.power_max_kw))
    if ev.power_min_kw > 0:
        _on_off(lp, power, window, steps, ev.power_min_kw, ev.power_max_kw)
    due = problem.ev_energy_due_kwh(ev)
    return power, _energy_row(lp, power, problem.step_h, due, elastic)


def add_deferrable(
    lp: LpBuilder, problem: FlexProblem, load: DeferrableLoad, elastic: bool
) -> tuple[IntArray, IntArray | None]:
    """A deferrable load's power columns [kW] and, if elastic, its shortfall column [kWh]."""
    steps, window = problem.steps, problem.window(load)
    power = lp.add_columns(steps, upper=_window_upper(steps, window, load.power_max_kw))
    least, most = problem.deferrable_energy_kwh(load)
    if load.needs_binaries:
        runs = not load.interruptible or load.min_run_steps > 1
        floor = load.power_min_kw
        if runs and floor == 0 and len(window):
            floor = min(load.power_max_kw, most / (len(window) * problem.step_h))
        on = _on_off(lp, power, window, steps, floor, load.power_max_kw)
        if runs:
            ends = not load.interruptible and problem.cut_by_horizon(load)
            _starts(lp, on, load, steps, ends)
    return power, _energy_row(lp, power, problem.step_h, least, elastic, most)
