"""Energy KPIs over interval series (pure functions; DESIGN.md "Analytics (exact definitions)").

Inputs are pandas Series on a regular UTC grid (index = interval starts), NaN where an interval
has no data. Every function returns a ``Figure``: the value (None when nothing can be computed),
its unit and its ``coverage``, the fraction of the period's intervals whose inputs all had data.

References: ISO 50001 / ISO 50006 (SEC, EnPI); the ENMS seed's KPI definitions (SEC, peak demand
over 15-min windows, load factor, cost, CO2 = energy x 0.45 kg/kWh by default); Luthander et al.,
"Photovoltaic self-consumption in buildings: a review", Applied Energy 142 (2015) for
self-consumption and self-sufficiency.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

MS_PER_HOUR = 3_600_000
#: Default demand interval (utility billing practice; the ENMS seed's 15-minute window) [ms].
DEMAND_INTERVAL_MS = 15 * 60_000
#: Grid average emission factor of the ENMS seed [kg CO2/kWh].
DEFAULT_EMISSION_FACTOR_KG_PER_KWH = 0.45


@dataclass(frozen=True)
class Figure:
    """A KPI value with its unit and data coverage (0..1); ``detail`` holds extra facts."""

    value: float | None
    unit: str
    coverage: float
    detail: dict[str, Any] = field(default_factory=dict)


def coverage(*series: pd.Series) -> float:
    """Fraction of intervals in which every one of ``series`` has a value (0 for no intervals)."""
    present = present_mask(*series)
    return float(present.mean()) if len(present) else 0.0


def present_mask(*series: pd.Series) -> np.ndarray:
    mask = np.ones(len(series[0]), dtype=bool)
    for values in series:
        mask &= ~np.isnan(values.to_numpy(dtype="float64"))
    return mask


def interval_energy_kwh(power_kw: pd.Series, interval_ms: int) -> pd.Series:
    """Energy per interval [kWh] = average power [kW] x interval length [h] (NaN stays NaN)."""
    if interval_ms <= 0:
        raise ValidationFailed("the interval must be positive")
    return power_kw * (interval_ms / MS_PER_HOUR)


def average_power_kw(energy_kwh: pd.Series, interval_ms: int) -> pd.Series:
    """Average power per interval [kW] = interval energy [kWh] / interval length [h]."""
    if interval_ms <= 0:
        raise ValidationFailed("the interval must be positive")
    return energy_kwh / (interval_ms / MS_PER_HOUR)


def total_energy(energy_kwh: pd.Series) -> Figure:
    """Sum of interval energies [kWh] over the intervals with data."""
    present = present_mask(energy_kwh)
    value = float(energy_kwh.to_numpy()[present].sum()) if present.any() else None
    return Figure(value, "kWh", coverage(energy_kwh))


def specific_energy_consumption(energy_kwh: pd.Series, production_count: pd.Series) -> Figure:
    """SEC [kWh/unit] = sum(E) / sum(units) over intervals where both are known (ISO 50006).

    ``production_count`` holds the units produced per interval (the counter's positive steps).
    None when no units were produced.
    """
    present = present_mask(energy_kwh, production_count)
    units = float(production_count.to_numpy()[present].sum())
    energy = float(energy_kwh.to_numpy()[present].sum())
    value = energy / units if units > 0 else None
    detail = {"energy_kwh": energy, "units": units}
    return Figure(value, "kWh/unit", coverage(energy_kwh, production_count), detail)


def demand_series_kw(power_kw: pd.Series, demand_interval_ms: int) -> pd.Series:
    """Average power per demand interval [kW] from a finer regular series (epoch-aligned).

    The series' own step must divide ``demand_interval_ms``; a demand interval is the mean of
    its sub-intervals with data (NaN when none has).
    """
    if len(power_kw) < 2:
        return power_kw
    step = int((power_kw.index[1] - power_kw.index[0]) / pd.Timedelta(milliseconds=1))
    if demand_interval_ms % step:
        raise ValidationFailed("the demand interval must be a multiple of the series step")
    if demand_interval_ms == step:
        return power_kw
    return power_kw.resample(pd.Timedelta(milliseconds=demand_interval_ms), origin="epoch").mean()


def peak_demand(power_kw: pd.Series) -> Figure:
    """Peak demand [kW] = max of demand-interval average power; ``detail["at"]`` its start."""
    present = present_mask(power_kw)
    if not present.any():
        return Figure(None, "kW", 0.0)
    at = power_kw.idxmax()
    return Figure(float(power_kw.max()), "kW", coverage(power_kw), {"at": at})


def load_factor(power_kw: pd.Series) -> Figure:
    """Load factor [1] = mean demand-interval power / peak demand (intervals with data; 0..1)."""
    peak = peak_demand(power_kw)
    if peak.value is None or peak.value <= 0:
        return Figure(None, "1", peak.coverage)
    mean = float(np.nanmean(power_kw.to_numpy(dtype="float64")))
    return Figure(mean / peak.value, "1", peak.coverage, {"average_kw": mean})


def carbon_kg(
    energy_kwh: pd.Series, factor_kg_per_kwh: float | pd.Series, fallback_kg_per_kwh: float
) -> Figure:
    """CO2 [kg] = sum(E_i x f_i): ``f`` a constant or a time-varying series on the same grid.

    Intervals where the series has no factor use ``fallback_kg_per_kwh`` (the site's factor);
    ``detail["varying_share"]`` is the share of energy priced with the time-varying factor.
    """
    energy = energy_kwh.to_numpy(dtype="float64")
    present = ~np.isnan(energy)
    if isinstance(factor_kg_per_kwh, pd.Series):
        factors = factor_kg_per_kwh.reindex(energy_kwh.index).to_numpy(dtype="float64")
    else:
        factors = np.full(len(energy), float(factor_kg_per_kwh))
    varying = ~np.isnan(factors)
    factors = np.where(varying, factors, fallback_kg_per_kwh)
    if not present.any():
        return Figure(None, "kg", 0.0)
    total = float(energy[present].sum())
    share = float(energy[present & varying].sum() / total) if total > 0 else 0.0
    value = float((energy[present] * factors[present]).sum())
    if not isinstance(factor_kg_per_kwh, pd.Series):
        share = 0.0
    return Figure(value, "kg", coverage(energy_kwh), {"varying_share": share})


def contract_utilisation(peak_kw: Figure, contract_demand_kw: float | None) -> Figure:
    """Contract utilisation [1] = peak demand / contract demand (> 1: over the contract)."""
    if peak_kw.value is None or not contract_demand_kw or contract_demand_kw <= 0:
        return Figure(None, "1", peak_kw.coverage)
    detail = {"peak_kw": peak_kw.value, "contract_demand_kw": contract_demand_kw}
    return Figure(peak_kw.value / contract_demand_kw, "1", peak_kw.coverage, detail)


def self_consumption(load_kwh: pd.Series, generation_kwh: pd.Series) -> tuple[Figure, Figure]:
    """Self-consumption and self-sufficiency [1] per interval balance (Luthander et al. 2015).

    Per interval, the self-consumed energy is ``min(load, generation)``. Self-consumption =
    sum(min) / sum(generation) (share of generation used on site); self-sufficiency =
    sum(min) / sum(load) (share of load met by on-site generation). Intervals where either is
    missing are left out; a missing generation series counts as missing, not as zero.
    """
    present = present_mask(load_kwh, generation_kwh)
    load = load_kwh.to_numpy(dtype="float64")[present]
    generation = np.clip(generation_kwh.to_numpy(dtype="float64")[present], 0.0, None)
    load = np.clip(load, 0.0, None)
    used = np.minimum(load, generation).sum()
    share = coverage(load_kwh, generation_kwh)
    detail = {
        "self_consumed_kwh": float(used),
        "load_kwh": float(load.sum()),
        "generation_kwh": float(generation.sum()),
    }
    consumption = Figure(
        float(used / generation.sum()) if generation.sum() > 0 else None, "1", share, detail
    )
    sufficiency = Figure(float(used / load.sum()) if load.sum() > 0 else None, "1", share, detail)
    return consumption, sufficiency
