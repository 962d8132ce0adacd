"""Weather-regression baseline: per hour of the day, load on heating and cooling degrees.

For each local hour h covering the event, over the eligible days of the event's pool in the
look-back (the same eligibility as day matching: excluded, incomplete and other-pool days left
out), ordinary least squares with the ISO 50001 baseline code (``analytics.baseline``):

    load_kw(d, t) = a_h + b_h * HDD(d, t) + c_h * CDD(d, t)
    HDD = max(0, heating_base_c - temperature_c),  CDD = max(0, temperature_c - cooling_base_c)

with one row per interval t of hour h on day d, then predicted with the event day's measured
temperature. A driver that is constant over the training rows (no heating in summer) is left
out. This is the shape of CAISO's weather-matching / regression baseline option (ESDER 2,
"control group and weather matching methodologies") and of the hourly models of LBNL's baseline
studies (Coughlin et al., LBNL-63728); the statistics (R2, CV(RMSE), NMBE) are ASHRAE
Guideline 14's, as in ``analytics.baseline``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd

from gridpilot.analytics.baseline import fit_baseline
from gridpilot.analytics.cbl.days import (
    NotEnoughDays,
    day_profiles,
    eligible_days,
    holidays_between,
)
from gridpilot.analytics.cbl.result import CblResult, event_window
from gridpilot.core.errors import ValidationFailed

METHOD = "weather_regression"


def weather_baseline(
    consumption_kw: pd.Series,
    temperature_c: pd.Series,
    *,
    event_start: pd.Timestamp | dt.datetime | str,
    event_end: pd.Timestamp | dt.datetime | str,
    timezone: str,
    excluded_dates: Collection[dt.date] = (),
    holiday_country: str | None = None,
    holidays: Collection[dt.date] | None = None,
    lookback_days: int = 60,
    min_days: int = 10,
    heating_base_c: float = 15.0,
    cooling_base_c: float = 22.0,
) -> CblResult:
    """Regression baseline [kW] per interval of the event (see the module docstring).

    ``temperature_c``: outdoor temperature at the site on the same intervals as the load (UTC
    index), including the event day. Raises ``NotEnoughDays`` with fewer than ``min_days``
    eligible days in ``lookback_days``.
    """
    load = day_profiles(consumption_kw, timezone=timezone)
    temp = day_profiles(temperature_c.reindex(consumption_kw.index), timezone=timezone)
    event = event_window(event_start, event_end, step_minutes=load.step_minutes, timezone=timezone)
    if holidays is None:
        holidays = holidays_between(holiday_country, load.first_day, event.day)
    found = eligible_days(
        load,
        event.day,
        count=lookback_days,
        max_lookback_days=lookback_days,
        event_slots=event.slots,
        excluded=excluded_dates,
        holidays=holidays,
    )
    if len(found.days) < min_days:
        raise NotEnoughDays(
            f"{METHOD}: only {len(found.days)} eligible days in the {lookback_days} days "
            f"before {event.day} (needs {min_days})"
        )
    if not temp.has(event.day):
        raise ValidationFailed("the temperature of the event day is missing")
    rows = np.array([load.row(d) for d in found.days], dtype="int64")
    temp_rows = np.array([temp.row(d) for d in found.days], dtype="int64")
    slots_per_hour = 60 // load.step_minutes
    predicted = np.full(len(event.slots), np.nan)
    fits: dict[int, dict[str, float]] = {}
    for hour in sorted(set((event.slots // slots_per_hour).tolist())):
        hour_slots = np.arange(hour * slots_per_hour, (hour + 1) * slots_per_hour)
        y = load.load_kw[np.ix_(rows, hour_slots)].ravel()
        t = temp.load_kw[np.ix_(temp_rows, hour_slots)].ravel()
        frame = _degrees(t, heating_base_c, cooling_base_c).assign(load_kw=y)
        drivers = [c for c in ("hdd", "cdd") if frame[c].nunique() > 1]
        fit = fit_baseline(frame, energy="load_kw", drivers=drivers, granularity="hour")
        in_hour = event.slots // slots_per_hour == hour
        event_t = temp.load_kw[temp.row(event.day), event.slots[in_hour]]
        predicted[in_hour] = fit.predict(_degrees(event_t, heating_base_c, cooling_base_c))
        fits[hour] = {"r2": round(fit.r2, 4), "cv_rmse_pct": round(fit.cv_rmse_pct, 2), "n": fit.n}
    if not np.isfinite(predicted).all():
        raise ValidationFailed("the temperature is missing for some event intervals")
    baseline = pd.Series(np.maximum(0.0, predicted), index=event.index, name="baseline_kw")
    return CblResult(
        method=METHOD,
        parameters={
            "lookback_days": lookback_days,
            "min_days": min_days,
            "heating_base_c": heating_base_c,
            "cooling_base_c": cooling_base_c,
            "fits_by_hour": fits,
        },
        baseline_kw=baseline,
        unadjusted_kw=baseline.rename("unadjusted_kw"),
        source="OLS per local hour on HDD/CDD (gridpilot.analytics.baseline, ASHRAE G14 stats)",
        selected_days=sorted(found.days),
        eligible_days=found.days,
        skipped_days=found.skipped,
        adjustment={"kind": "none"},
    )


def _degrees(temperature_c: np.ndarray, heating_c: float, cooling_c: float) -> pd.DataFrame:
    t = np.asarray(temperature_c, dtype="float64")
    return pd.DataFrame(
        {"hdd": np.maximum(0.0, heating_c - t), "cdd": np.maximum(0.0, t - cooling_c)}
    )
