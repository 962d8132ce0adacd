"""Generation KPIs: capacity factor, specific yield, PV performance ratio, availability (pure).

Inputs are interval series on a regular UTC grid (NaN = no data), as in ``analytics.kpis``.

References: IEC 61724-1:2021 (final yield Y_f = E / P0, reference yield Y_r = H_poa / G_ref,
performance ratio PR = Y_f / Y_r, G_ref = 1000 W/m2); IEC 61724-3 / IEC 61400-26-1 (time-based
availability: producing while the resource is present); capacity factor = E / (P_rated x T).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridpilot.analytics.kpis import MS_PER_HOUR, Figure, coverage, present_mask

#: Reference irradiance of IEC 61724-1 [W/m2].
G_REF_WM2 = 1000.0
#: Irradiance above which a PV plant is expected to produce (IEC 61724-3 uses 50 W/m2) [W/m2].
PV_AVAILABILITY_THRESHOLD_WM2 = 50.0


def capacity_factor(energy_kwh: pd.Series, rated_kw: float | None, interval_ms: int) -> Figure:
    """Capacity factor [1] = E / (P_rated x T) over calendar time (IEC 61724-1 style).

    ``T`` is the whole period (every interval x interval length [h]): an interval without data
    counts as **zero production**, not as time left out (a PV logger silent at night would
    otherwise double the figure). ``detail`` says so: ``basis: "calendar"``,
    ``hours_without_data`` (the time counted as zero [h]) beside ``hours`` and
    ``hours_with_data``; ``coverage`` is the share of intervals with data.
    """
    present = present_mask(energy_kwh)
    if not rated_kw or rated_kw <= 0 or not present.any():
        return Figure(None, "1", coverage(energy_kwh))
    interval_h = interval_ms / MS_PER_HOUR
    hours = len(present) * interval_h
    energy = float(energy_kwh.to_numpy()[present].sum())
    detail = {
        "energy_kwh": energy,
        "rated_kw": rated_kw,
        "hours": float(hours),
        "hours_with_data": float(present.sum() * interval_h),
        "hours_without_data": float((~present).sum() * interval_h),
        "basis": "calendar",
        "missing_counted_as_zero": bool((~present).any()),
    }
    return Figure(energy / (rated_kw * hours), "1", coverage(energy_kwh), detail)


def specific_yield(energy_kwh: pd.Series, rated_kwp: float | None) -> Figure:
    """Specific yield [kWh/kWp] = E / P_rated (IEC 61724-1 final yield Y_f over the period)."""
    present = present_mask(energy_kwh)
    if not rated_kwp or rated_kwp <= 0 or not present.any():
        return Figure(None, "kWh/kWp", coverage(energy_kwh))
    energy = float(energy_kwh.to_numpy()[present].sum())
    return Figure(energy / rated_kwp, "kWh/kWp", coverage(energy_kwh))


def performance_ratio(
    energy_kwh: pd.Series,
    irradiance_wm2: pd.Series,
    rated_kwp: float | None,
    interval_ms: int,
) -> Figure:
    """PV performance ratio [1] = Y_f / Y_r (IEC 61724-1), intervals with both inputs only.

    ``Y_f = sum(E) / P0`` [h]; ``Y_r = sum(G_i x dt) / G_ref`` [h] with ``G`` the average
    plane-of-array irradiance per interval [W/m2] and ``dt`` the interval [h]. Expected energy
    (``detail``) is ``P0 x Y_r`` [kWh].
    """
    present = present_mask(energy_kwh, irradiance_wm2)
    share = coverage(energy_kwh, irradiance_wm2)
    if not rated_kwp or rated_kwp <= 0 or not present.any():
        return Figure(None, "1", share)
    dt_h = interval_ms / MS_PER_HOUR
    reference_yield_h = float(irradiance_wm2.to_numpy()[present].clip(0).sum() * dt_h / G_REF_WM2)
    if reference_yield_h <= 0:
        return Figure(None, "1", share)
    energy = float(energy_kwh.to_numpy()[present].sum())
    detail = {"energy_kwh": energy, "expected_kwh": rated_kwp * reference_yield_h}
    return Figure(energy / rated_kwp / reference_yield_h, "1", share, detail)


def availability(
    power_kw: pd.Series,
    resource: pd.Series | None = None,
    *,
    resource_threshold: float = PV_AVAILABILITY_THRESHOLD_WM2,
    producing_kw: float = 0.0,
) -> Figure:
    """Availability [1].

    With a ``resource`` series (irradiance [W/m2] for PV, wind speed [m/s] for wind):
    time-based availability = intervals producing (power > ``producing_kw``) while the resource
    exceeds ``resource_threshold``, over the intervals where it does (IEC 61724-3 style).
    Without one: data availability = intervals with a power reading / all intervals
    (``detail["basis"]`` says which).
    """
    power = power_kw.to_numpy(dtype="float64")
    if resource is None:
        reported = ~np.isnan(power)
        value = float(reported.mean()) if len(power) else None
        return Figure(value, "1", 1.0 if len(power) else 0.0, {"basis": "data"})
    level = resource.reindex(power_kw.index).to_numpy(dtype="float64")
    present = present_mask(power_kw, resource.reindex(power_kw.index))
    expected = present & (level > resource_threshold)
    if not expected.any():
        return Figure(None, "1", coverage(power_kw, resource), {"basis": "resource"})
    producing = expected & (power > producing_kw)
    detail = {"basis": "resource", "expected_intervals": int(expected.sum())}
    value = float(producing.sum() / expected.sum())
    return Figure(value, "1", coverage(power_kw, resource.reindex(power_kw.index)), detail)
