"""What a period costs under versioned time-of-use tariffs (pure functions).

Energy is priced per interval at its rate (``analytics.tariffs.rates_per_kwh``). On top: a demand
charge [currency/kW] per local calendar month on that month's billing peak (max demand-interval
average power), and fixed charges per local day and per local month; both are prorated by the
share of the day/month the period covers.

Tariffs are versioned: ``versions`` are ``(valid_from_ms, Tariff)`` and every interval is priced
with the version valid at its start, so a new version never changes past costs.

References: IEC 62056 / utility TOU practice; Italian ARERA F1/F2/F3 bands as the worked example.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.analytics.tariffs import Tariff, local_index, rates_per_kwh
from gridpilot.core.errors import ValidationFailed


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of a period [currency]: energy + demand + fixed, with the details behind it."""

    currency: str
    energy_cost: float
    demand_cost: float
    fixed_cost: float
    energy_kwh: float
    coverage: float
    by_period: dict[str, dict[str, float]] = field(default_factory=dict)
    billing_peaks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.energy_cost + self.demand_cost + self.fixed_cost


def _version_of(index: pd.DatetimeIndex, starts_ms: Sequence[int]) -> np.ndarray:
    stamps = _to_ms(index)
    return np.searchsorted(np.asarray(starts_ms, dtype="int64"), stamps, side="right") - 1


def _to_ms(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(index.as_unit("ms").asi8)


def _period_lengths_ms(local: pd.DatetimeIndex, freq: str) -> tuple[np.ndarray, list[str]]:
    """Length [ms] of the local day or month holding each timestamp, and its label."""
    naive = local.tz_localize(None)
    starts = naive.normalize() if freq == "D" else naive.to_period("M").to_timestamp()
    ends = starts + (pd.DateOffset(days=1) if freq == "D" else pd.DateOffset(months=1))
    tz = local.tz
    flags = np.zeros(len(starts), dtype=bool)
    lo = starts.tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    hi = pd.DatetimeIndex(ends).tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    days, where = np.unique(np.asarray(starts.asi8), return_inverse=True)  # few days or months
    fmt = "%Y-%m-%d" if freq == "D" else "%Y-%m"
    names = [pd.Timestamp(day).strftime(fmt) for day in days]
    labels = [names[i] for i in where.ravel()]
    return _to_ms(hi) - _to_ms(lo), labels


def _demand_charges(
    demand: np.ndarray | None,
    months: list[str],
    month_ms: np.ndarray,
    which: np.ndarray,
    versions: Sequence[tuple[int, Tariff]],
    interval_ms: int,
) -> tuple[float, list[dict[str, Any]]]:
    """The demand charge [currency] and its billing peaks: per (local month, version), charge x
    the max of ``demand`` [kW] x the share of the month covered."""
    demand_cost, peaks = 0.0, []
    for month, position in sorted({(m, int(w)) for m, w in zip(months, which, strict=True)}):
        if position < 0:
            continue
        tariff = versions[position][1]
        mask = (np.asarray(months) == month) & (which == position)
        if demand is None or tariff.demand_charge_per_kw_month == 0.0:
            continue
        chunk = demand[mask]
        if np.isnan(chunk).all():
            continue
        peak = float(np.nanmax(chunk))
        share = float(mask.sum() * interval_ms / month_ms[mask][0])
        charge = tariff.demand_charge_per_kw_month * peak * share
        demand_cost += charge
        peaks.append(
            {
                "month": month,
                "valid_from_ms": versions[position][0],
                "peak_kw": peak,
                "share_of_month": share,
                "charge": charge,
            }
        )
    return demand_cost, peaks


def _energy_cost(
    index: pd.DatetimeIndex,
    which: np.ndarray,
    versions: Sequence[tuple[int, Tariff]],
    timezone: str,
    values: np.ndarray,
    present: np.ndarray,
) -> tuple[np.ndarray, dict[str, dict[str, float]]]:
    """Each interval's energy cost (E_i x rate_i of its tariff version ``which``; 0 where not
    ``present``) and per time-of-use period name its energy [kWh] and cost."""
    rates = np.zeros(len(index))
    names = np.full(len(index), "", dtype=object)
    for position, (_, tariff) in enumerate(versions):
        mask = which == position
        if mask.any():
            rates[mask], names[mask] = rates_per_kwh(index[mask], tariff, timezone)
    priced = np.where(present, values, 0.0) * rates
    by_period: dict[str, dict[str, float]] = {}
    for name in sorted(set(names[present])):
        mask = present & (names == name)
        by_period[str(name)] = {
            "energy_kwh": float(values[mask].sum()),
            "cost": float(priced[mask].sum()),
        }
    return priced, by_period


def _fixed_cost(
    local: pd.DatetimeIndex,
    which: np.ndarray,
    versions: Sequence[tuple[int, Tariff]],
    interval_ms: int,
    month_ms: np.ndarray,
) -> float:
    """Fixed charges accrued per interval: per_day x interval/day length + per_month x
    interval/month length [ms/ms], of each interval's tariff version ``which``."""
    day_ms, _ = _period_lengths_ms(local, "D")
    per_day = np.array([versions[w][1].fixed_charge_per_day if w >= 0 else 0.0 for w in which])
    per_month = np.array([versions[w][1].fixed_charge_per_month if w >= 0 else 0.0 for w in which])
    return float((per_day * interval_ms / day_ms + per_month * interval_ms / month_ms).sum())


def cost(
    energy_kwh: pd.Series,
    *,
    interval_ms: int,
    versions: Sequence[tuple[int, Tariff]],
    timezone: str,
    demand_kw: pd.Series | None = None,
) -> CostBreakdown:
    """Cost of interval energies under versioned time-of-use tariffs.

    Parameters
    ----------
    energy_kwh : pandas.Series
        Energy per interval [kWh] on a regular UTC grid of ``interval_ms`` (index = interval
        starts); NaN = no data (priced as nothing, lowers ``coverage``).
    interval_ms : int
        Interval length [ms]; fixed charges accrue per interval whether or not it has data.
    versions : sequence of (valid_from_ms, Tariff)
        Sorted by ``valid_from_ms``; intervals before the first are not priced (they lower
        ``coverage``, which counts intervals with both data and a tariff).
    timezone : str
        IANA zone of the site: periods, days, holidays and billing months are local.
    demand_kw : pandas.Series, optional
        Average power per demand interval [kW] on the same index, for the demand charge
        (billing peak = its max per local month and tariff version).

    Returns
    -------
    CostBreakdown
        ``energy_cost`` = sum(E_i x rate_i); ``demand_cost`` = sum over (month, version) of
        charge x billing peak x (covered time / month length); ``fixed_cost`` = sum over intervals
        of per_day x interval/day length + per_month x interval/month length.
    """
    if len(energy_kwh) == 0 or not versions:
        raise ValidationFailed("no intervals to price or no tariff to price them with")
    currencies = {t.currency for _, t in versions}
    if len(currencies) != 1:
        raise ValidationFailed(f"tariff versions mix currencies: {', '.join(sorted(currencies))}")
    index = pd.DatetimeIndex(energy_kwh.index)
    local = local_index(index, timezone)
    which = _version_of(index, [v for v, _ in versions])
    values = energy_kwh.to_numpy(dtype="float64")
    present = ~np.isnan(values) & (which >= 0)
    priced, by_period = _energy_cost(index, which, versions, timezone, values, present)
    month_ms, months = _period_lengths_ms(local, "M")
    fixed = _fixed_cost(local, which, versions, interval_ms, month_ms)
    demand = None if demand_kw is None else demand_kw.reindex(index).to_numpy(dtype="float64")
    demand_cost, peaks = _demand_charges(demand, months, month_ms, which, versions, interval_ms)
    return CostBreakdown(
        currency=currencies.pop(),
        energy_cost=float(priced.sum()),
        demand_cost=demand_cost,
        fixed_cost=fixed,
        energy_kwh=float(values[present].sum()),
        coverage=float(present.mean()),
        by_period=by_period,
        billing_peaks=peaks,
    )
