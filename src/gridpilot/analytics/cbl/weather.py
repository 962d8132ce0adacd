"""Weather-regression baseline: load on heating and cooling degrees, by local time of day.

Over the eligible days of the event's pool in the look-back (the same eligibility as day
matching: excluded, incomplete and other-pool days left out; Saturdays apart from Sundays and
holidays by default), one ordinary least squares fit with
the ISO 50001 baseline code (``analytics.baseline``) on the intervals of the event's local times
of day:

    load_kw(d, s) = a + a_s + b * HDD(d, s) + c * CDD(d, s)
    HDD = max(0, heating_base_c - temperature_c),  CDD = max(0, temperature_c - cooling_base_c)

with ``a_s`` an intercept per time-of-day slot of the event window (the load shape), then
predicted with the event day's measured temperature. Base temperatures passed as None are
searched (the balance points of least squared error over a 1 K grid, heating 10-20 degC and cooling
18-28 degC, as CalTRACK's grid search does), then fitted once at the chosen bases. A driver
that is constant over the training rows (no heating in summer) is left out. This is the shape
of the regression baselines in LBNL's evaluation of baseline models (Coughlin et al.,
LBNL-63728, 2008) and of CAISO's weather-matching option (ESDER 2); its statistics (R2,
CV(RMSE), NMBE) are ASHRAE Guideline 14's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd

from gridpilot.analytics.baseline import INTERCEPT, fit_baseline
from gridpilot.analytics.cbl.days import (
    DayProfiles,
    NotEnoughDays,
    day_profiles,
    eligible_days,
    holidays_between,
)
from gridpilot.analytics.cbl.result import CblResult, EventWindow, event_window
from gridpilot.core.errors import ValidationFailed

METHOD = "weather_regression"
#: The balance-point grids searched [degC] (1 K steps).
HEATING_BASES_C = tuple(float(b) for b in range(10, 21))
COOLING_BASES_C = tuple(float(b) for b in range(18, 29))


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
    min_days: int = 6,
    like_days: bool = True,
    heating_base_c: float | None = 15.0,
    cooling_base_c: float | None = 22.0,
) -> CblResult:
    """Regression baseline [kW] per interval of the event (see the module docstring).

    ``temperature_c``: outdoor temperature at the site at the load's step (UTC index), over the
    history and the event. Raises ``NotEnoughDays`` with fewer than ``min_days``
    eligible days in ``lookback_days``. ``like_days``: Saturdays are fitted apart from Sundays
    and holidays (a shop open on Saturdays and closed on Sundays has two weekend loads).
    """
    load = day_profiles(consumption_kw, timezone=timezone)
    temp = day_profiles(temperature_c, timezone=timezone)
    if temp.step_minutes != load.step_minutes:
        raise ValidationFailed("temperature and load must have the same step")
    event = event_window(event_start, event_end, step_minutes=load.step_minutes, timezone=timezone)
    if holidays is None:
        holidays = holidays_between(holiday_country, load.first_day, event.day)
    return weather_from_profiles(
        load,
        temp,
        event,
        excluded=excluded_dates,
        holidays=holidays,
        lookback_days=lookback_days,
        min_days=min_days,
        like_days=like_days,
        heating_base_c=heating_base_c,
        cooling_base_c=cooling_base_c,
    )


def weather_from_profiles(
    load: DayProfiles,
    temp: DayProfiles,
    event: EventWindow,
    *,
    excluded: Collection[dt.date] = (),
    holidays: Collection[dt.date] = (),
    lookback_days: int = 60,
    min_days: int = 6,
    like_days: bool = True,
    heating_base_c: float | None = 15.0,
    cooling_base_c: float | None = 22.0,
) -> CblResult:
    """``weather_baseline`` from prepared load and temperature profiles (same days and slots)."""
    found = eligible_days(
        load,
        event.day,
        count=lookback_days,
        max_lookback_days=lookback_days,
        event_slots=event.slots,
        excluded=excluded,
        holidays=holidays,
        like_days=like_days,
    )
    if len(found.days) < min_days:
        raise NotEnoughDays(
            f"{METHOD}: only {len(found.days)} eligible days in the {lookback_days} days "
            f"before {event.day} (needs {min_days})"
        )
    if not temp.has(event.day):
        raise ValidationFailed("the temperature of the event day is missing")
    searched = heating_base_c is None or cooling_base_c is None
    if searched:
        heating, cooling = balance_points(*_training(load, temp, event, found.days))
        heating_base_c = heating if heating_base_c is None else heating_base_c
        cooling_base_c = cooling if cooling_base_c is None else cooling_base_c
    assert heating_base_c is not None and cooling_base_c is not None
    predicted, fit = _predict(load, temp, event, found.days, heating_base_c, cooling_base_c)
    baseline = pd.Series(np.maximum(0.0, predicted), index=event.index, name="baseline_kw")
    return CblResult(
        method=METHOD,
        parameters={
            "lookback_days": lookback_days,
            "min_days": min_days,
            "like_days": like_days,
            "heating_base_c": heating_base_c,
            "cooling_base_c": cooling_base_c,
            "bases": "searched" if searched else "given",
            "fit": fit,
        },
        baseline_kw=baseline,
        unadjusted_kw=baseline.rename("unadjusted_kw"),
        source="OLS per local hour on HDD/CDD (gridpilot.analytics.baseline, ASHRAE G14 stats)",
        selected_days=sorted(found.days),
        eligible_days=found.days,
        skipped_days=found.skipped,
        adjustment={"kind": "none"},
    )


def _predict(
    load: DayProfiles,
    temp: DayProfiles,
    event: EventWindow,
    days: list[dt.date],
    heating_c: float,
    cooling_c: float,
) -> tuple[np.ndarray, dict[str, float]]:
    """One fit over the event's slots of the training days; the prediction per event interval."""
    y, t, row_slots, slots = _training(load, temp, event, days)
    columns = _design(t, row_slots, slots, heating_c, cooling_c)
    known = np.isfinite(y) & np.isfinite(t)
    drivers = [name for name, col in columns.items() if np.ptp(col[known]) > 0]
    frame = pd.DataFrame({name: columns[name][known] for name in drivers} | {"load_kw": y[known]})
    fit = fit_baseline(frame, energy="load_kw", drivers=drivers, granularity="hour")
    event_t = temp.values[temp.row(event.day), event.slots]
    design = _design(event_t, event.slots, slots, heating_c, cooling_c)
    values = np.full(len(event_t), fit.coefficient(INTERCEPT).estimate)
    for name in drivers:
        values = values + fit.coefficient(name).estimate * design[name]
    if not np.isfinite(values).all():
        raise ValidationFailed("the temperature is missing for some event intervals")
    stats = {"r2": round(fit.r2, 4), "cv_rmse_pct": round(fit.cv_rmse_pct, 2), "n": fit.n}
    return values, stats


def _training(
    load: DayProfiles, temp: DayProfiles, event: EventWindow, days: list[dt.date]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load [kW], temperature [degC] and slot of each training row; the window's slots."""
    slots = np.unique(event.slots)
    rows = np.array([load.row(d) for d in days], dtype="int64")
    temp_rows = np.array([temp.row(d) for d in days], dtype="int64")
    y = load.values[np.ix_(rows, slots)].ravel()
    t = temp.values[np.ix_(temp_rows, slots)].ravel()
    return y, t, np.tile(slots, len(days)), slots


def balance_points(
    y: np.ndarray, t: np.ndarray, row_slots: np.ndarray, slots: np.ndarray
) -> tuple[float, float]:
    """Heating and cooling base temperatures [degC] whose least-squares fit of ``y`` [kW] on
    ``t`` [degC] leaves the smallest squared error (a grid search; ties: the first found)."""
    known = np.isfinite(y) & np.isfinite(t)
    y, t, row_slots = y[known], t[known], row_slots[known]
    best = (np.inf, HEATING_BASES_C[0], COOLING_BASES_C[0])
    for heating in HEATING_BASES_C:
        for cooling in COOLING_BASES_C:
            if cooling < heating:
                continue
            columns = _design(t, row_slots, slots, heating, cooling).values()
            x = np.column_stack([np.ones(len(y)), *(c for c in columns if np.ptp(c) > 0)])
            coef = np.linalg.lstsq(x, y, rcond=None)[0]
            sse = float(np.sum((x @ coef - y) ** 2))
            if not np.isfinite(best[0]) or sse < best[0] * (1 - 1e-9) - 1e-12:
                best = (sse, heating, cooling)
    return best[1], best[2]


def _design(
    temperature_c: np.ndarray,
    row_slots: np.ndarray,
    slots: np.ndarray,
    heating_c: float,
    cooling_c: float,
) -> dict[str, np.ndarray]:
    """HDD, CDD and one indicator per slot after the window's first (its own intercept)."""
    t = np.asarray(temperature_c, dtype="float64")
    columns = {"hdd": np.maximum(0.0, heating_c - t), "cdd": np.maximum(0.0, t - cooling_c)}
    for slot in slots[1:]:
        columns[f"slot_{slot}"] = (row_slots == slot).astype("float64")
    return columns
