"""Heating and cooling degree-days from outdoor air temperature (a weather driver for baselines).

Two standard methods:

- **Mean-daily-temperature method** (``degree_days_daily``): HDD = max(0, Tb - Tmean),
  CDD = max(0, Tmean - Tb) per day, Tmean the day's mean temperature [degC]. This is the method of
  ISO 15927-6:2007 and of ASHRAE Handbook - Fundamentals (ch. 14, "Degree-days") and what
  utilities publish; use it for day/week/month granularity.
- **Degree-hour method** (``degree_days_hourly``): the same sums over hourly mean temperatures,
  divided by 24 so the unit stays K*day. Use it for hourly baselines (one hour's share of a
  degree-day).

Typical balance points (base temperatures): 15.5 degC (UK/EU heating), 18.3 degC (65 degF, US),
18-22 degC for cooling. The balance point is the outdoor temperature at which a building needs
neither heating nor cooling; choose it per site (an energy-signature plot shows it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

HOURS_PER_DAY = 24.0


def _check_balance_point(balance_point_c: float) -> None:
    if not np.isfinite(balance_point_c) or not -50.0 <= balance_point_c <= 50.0:
        raise ValidationFailed("the balance point must be a temperature between -50 and 50 degC")


def heating_degrees(temperature_c: pd.Series, balance_point_c: float) -> pd.Series:
    """max(0, Tb - T) per value [K]; NaN stays NaN."""
    _check_balance_point(balance_point_c)
    return (balance_point_c - temperature_c).clip(lower=0.0)


def cooling_degrees(temperature_c: pd.Series, balance_point_c: float) -> pd.Series:
    """max(0, T - Tb) per value [K]; NaN stays NaN."""
    _check_balance_point(balance_point_c)
    return (temperature_c - balance_point_c).clip(lower=0.0)


def degree_days_daily(
    daily_mean_c: pd.Series, balance_point_c: float, *, kind: str = "hdd"
) -> pd.Series:
    """HDD or CDD per day [K*day] from daily mean outdoor temperatures [degC].

    Example: Tb = 15.5, Tmean = 5.5 -> HDD = 10 K*day, CDD = 0.
    """
    return _degrees(daily_mean_c, balance_point_c, kind)


def degree_days_hourly(
    hourly_mean_c: pd.Series, balance_point_c: float, *, kind: str = "hdd"
) -> pd.Series:
    """HDD or CDD per hour [K*day] from hourly mean temperatures [degC] (degree-hours / 24).

    Summing a day's values gives the degree-hour estimate of that day's degree-days.
    """
    return _degrees(hourly_mean_c, balance_point_c, kind) / HOURS_PER_DAY


def _degrees(temperature_c: pd.Series, balance_point_c: float, kind: str) -> pd.Series:
    if kind == "hdd":
        return heating_degrees(temperature_c, balance_point_c)
    if kind == "cdd":
        return cooling_degrees(temperature_c, balance_point_c)
    raise ValidationFailed(f"unknown degree-day kind {kind!r} (hdd or cdd)")
