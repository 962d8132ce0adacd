"""Savings of the operation as it ran: measured grid and battery flows re-priced against the
two references of ``savings.py``.

Per interval (kWh, NaN when unknown): grid ``import``/``export`` and battery ``charge``/
``discharge`` as the site balance measured them. The site's demand without its battery is
``net = import - export + discharge - charge`` [kWh]; the references run on it:

- **actual**: the measured import and export (the optimised operation when the MPC
  dispatches the batteries), plus battery wear on the measured throughput;
- **no battery**: ``max(net, 0)`` imported, ``max(-net, 0)`` exported, no wear;
- **rule-based**: the self-consumption controller (``rule_based.self_consumption``) run
  on ``net`` from the start of the data, with wear on its throughput; with several batteries
  each in turn on what the ones before left (as ``rule_based.rule_based_flows`` does), each
  with its own band, powers, efficiencies and wear.

The measured charge and discharge are the site's totals (the balance does not tell batteries
apart), so the actual operation's wear and stored energy use one equivalent ``battery``
(``flex.savings.equivalent_battery``: capacities summed, the rest weighted by capacity).

Deferrable loads and EVs are in the measured demand as they ran: shifting them is not
undone here (the unshifted profile was never measured). Each period is charged
``demand_charge_eur_per_kw`` times the rise of each controller's running peak (15-min mean
import from the start of the data, a local month) within the period, so the days of a month
sum to the month's demand charge. A change of stored energy is valued as in ``savings.py``:
the energy a controller leaves in its battery over a period is credited (energy taken out
charged) at the cheapest refill of the period (min import price / charge efficiency + wear),
so a battery that ends the day fuller than it began is not counted as a loss.
Intervals without a measured import or export cost nothing in any reference (``measured``
says how many were).

References: EMHASS's "cost of the optimised plan vs no battery"; the rule-based controller is
the "maximise self-consumption" mode of home batteries (see ``rule_based.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .resources import Battery
from .rule_based import self_consumption

CONTROLLERS = ("actual", "no_battery", "rule_based")


@dataclass(frozen=True, eq=False)
class Measured:
    """Measured flows per interval [kWh] of ``step_h`` hours and the prices [EUR/kWh] (the
    export price flat or per interval)."""

    step_h: float
    import_kwh: np.ndarray
    export_kwh: np.ndarray
    charge_kwh: np.ndarray
    discharge_kwh: np.ndarray
    price_eur_per_kwh: np.ndarray
    export_price_eur_per_kwh: float | np.ndarray = 0.0


@dataclass(frozen=True)
class PeriodCost:
    """EUR of each controller over one period (``CONTROLLERS`` order), and the intervals
    measured out of those in the period."""

    actual_eur: float
    no_battery_eur: float
    rule_based_eur: float
    intervals: int
    measured: int


def _rule_based(
    net: np.ndarray, step_h: float, batteries: Sequence[Battery]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The self-consumption controller's net [kWh], wear [EUR] and stored-energy change [kWh]
    per interval, each battery in turn on what the ones before it left."""
    wear = np.zeros_like(net)
    stored = np.zeros_like(net)
    for battery in batteries:
        plan = self_consumption(battery, net / step_h, step_h)
        charge, discharge = plan.charge_kw * step_h, plan.discharge_kw * step_h
        net = net + charge - discharge
        wear = wear + battery.wear_cost_eur_per_kwh * (charge + discharge)
        stored = stored + (
            battery.charge_efficiency * charge - discharge / battery.discharge_efficiency
        )
    return net, wear, stored


def _flows(
    m: Measured, battery: Battery | None, rule: Sequence[Battery]
) -> dict[str, tuple[np.ndarray, ...]]:
    """Import, export, wear and stored-energy change [kWh] per interval of each controller."""
    known = np.isfinite(m.import_kwh) & np.isfinite(m.export_kwh)
    charge = np.where(known, np.nan_to_num(m.charge_kwh), 0.0)
    discharge = np.where(known, np.nan_to_num(m.discharge_kwh), 0.0)
    imp = np.where(known, m.import_kwh, 0.0)
    exp = np.where(known, m.export_kwh, 0.0)
    net = imp - exp + discharge - charge
    zero = np.zeros_like(net)
    if battery is None:
        stored = charge * 1.0 - discharge  # no battery configured: efficiencies unknown
        rb = (np.maximum(net, 0), np.maximum(-net, 0), zero, zero)
        return {
            "actual": (imp, exp, zero, stored),
            "no_battery": (np.maximum(net, 0), np.maximum(-net, 0), zero, zero),
            "rule_based": rb,
        }
    eta_c, eta_d = battery.charge_efficiency, battery.discharge_efficiency
    rb_net, rb_wear, rb_stored = _rule_based(net, m.step_h, rule or [battery])
    wear = battery.wear_cost_eur_per_kwh
    return {
        "actual": (imp, exp, wear * (charge + discharge), eta_c * charge - discharge / eta_d),
        "no_battery": (np.maximum(net, 0), np.maximum(-net, 0), zero, zero),
        "rule_based": (np.maximum(rb_net, 0), np.maximum(-rb_net, 0), rb_wear, rb_stored),
    }


def reprice(
    m: Measured,
    battery: Battery | None,
    *,
    period_of: np.ndarray,
    periods: int,
    demand_charge_eur_per_kw: float = 0.0,
    rule_batteries: Sequence[Battery] = (),
) -> list[PeriodCost]:
    """The cost [EUR] of each controller in each of ``periods`` periods; ``period_of[i]`` is
    the period of interval i (-1: before the first, counted only for the running peak).
    ``battery`` is the site's batteries as one (the measured flows are their sum);
    ``rule_batteries`` the batteries the rule-based controller runs, each in turn (default:
    ``battery``)."""
    known = np.isfinite(m.import_kwh) & np.isfinite(m.export_kwh)
    inside = period_of >= 0
    where = np.where(inside, period_of, 0)
    weights = inside.astype(float)
    eta_c = battery.charge_efficiency if battery is not None else 1.0
    wear_rate = battery.wear_cost_eur_per_kwh if battery is not None else 0.0
    cheapest = np.full(periods, np.inf)
    np.minimum.at(cheapest, where[inside & known], m.price_eur_per_kwh[inside & known])
    refill = np.where(np.isfinite(cheapest), cheapest, 0.0) / eta_c + wear_rate
    totals = {}
    for name, (imp, exp, wear, stored) in _flows(m, battery, rule_batteries).items():
        energy = m.price_eur_per_kwh * imp - m.export_price_eur_per_kwh * exp + wear
        peak_kw = np.maximum.accumulate(np.concatenate([[0.0], imp / m.step_h]))
        demand = demand_charge_eur_per_kw * np.diff(peak_kw)
        per = np.bincount(where, weights=(energy + demand) * weights, minlength=periods)
        kept = np.bincount(where, weights=stored * weights, minlength=periods)
        totals[name] = per - kept * refill
    counted = np.bincount(where, weights=weights, minlength=periods)
    measured = np.bincount(where, weights=weights * known, minlength=periods)
    return [
        PeriodCost(
            float(totals["actual"][p]),
            float(totals["no_battery"][p]),
            float(totals["rule_based"][p]),
            int(counted[p]),
            int(measured[p]),
        )
        for p in range(periods)
    ]
