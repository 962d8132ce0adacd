"""Days of a site's load history in local time, and the eligible days of a look-back.

``day_profiles`` turns a load series [kW] (UTC index, 15 min or 1 h) into one row per *local*
calendar day and one column per local time-of-day slot (96 quarters or 24 hours). A DST day keeps
the same slots: the spring-forward day has no reading in the skipped hour (NaN there, 92 quarters
in all), the fall-back day's repeated hour averages its two readings (100 quarters in 96 slots),
so a day-matching baseline compares the same wall-clock times across days, as the ISO methods do.

``eligible_days`` walks back from the event day over days of the event's pool (weekdays, or
weekends and holidays), skipping excluded days (past events, outages), days with missing data
and, where the method says so, low-usage days; the look-back extends past each skipped day until
``count`` days are found or ``max_lookback_days`` is reached.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd

from gridpilot.analytics.calendar_features import holiday_dates
from gridpilot.core.errors import ValidationFailed

NS_PER_MIN = 60_000_000_000
NS_PER_DAY = 1440 * NS_PER_MIN
EPOCH = dt.date(1970, 1, 1)

#: Day pools: ``weekday`` (Mon-Fri, not a holiday) and ``weekend`` (Sat, Sun, holidays); with
#: like-day matching (NYISO, PJM) the weekend pool splits into ``saturday`` and ``sunday_holiday``.
WEEKDAY, WEEKEND, SATURDAY, SUNDAY_HOLIDAY = "weekday", "weekend", "saturday", "sunday_holiday"


class NotEnoughDays(ValidationFailed):
    """The look-back holds fewer eligible days than the method needs."""

    code = "cbl_not_enough_days"


@dataclass(frozen=True)
class DayProfiles:
    """Mean value per local day (rows) and local time-of-day slot (columns): load [kW], or any
    series on the same step (the weather baseline uses it for temperature [degC]).

    ``first_day`` is the first row's local date; rows run over consecutive calendar days (a day
    without data is all NaN). ``complete`` is True for days with every interval their local
    length allows (23, 24 or 25 hours of readings).
    """

    values: np.ndarray  # (n_days, slots_per_day)
    complete: np.ndarray  # bool (n_days,)
    first_day: dt.date
    step_minutes: int
    timezone: str

    @property
    def slots_per_day(self) -> int:
        return 1440 // self.step_minutes

    def row(self, day: dt.date) -> int:
        """Row of ``day``; raises ``ValidationFailed`` when the history does not hold it."""
        i = (day - self.first_day).days
        if not 0 <= i < len(self.values):
            raise ValidationFailed(f"{day} is outside the load history")
        return i

    def has(self, day: dt.date) -> bool:
        return 0 <= (day - self.first_day).days < len(self.values)

    def day(self, row: int) -> dt.date:
        return self.first_day + dt.timedelta(days=row)


def _step_minutes(index: pd.DatetimeIndex) -> int:
    diffs = np.diff(index.as_unit("ns").asi8)
    if len(diffs) == 0 or (diffs <= 0).any():
        raise ValidationFailed("the load series needs at least 2 strictly increasing timestamps")
    values, counts = np.unique(diffs, return_counts=True)
    step_ns = int(values[np.argmax(counts)])
    if step_ns % NS_PER_MIN or NS_PER_DAY % step_ns or step_ns > 60 * NS_PER_MIN:
        raise ValidationFailed("the load series must have a regular step dividing an hour")
    return step_ns // NS_PER_MIN


def local_wall_ns(index: pd.DatetimeIndex, timezone: str) -> np.ndarray:
    """Local wall-clock time of each timestamp [ns since 1970-01-01 local]."""
    if index.tz is None:
        raise ValidationFailed("timestamps must be time-zone aware (UTC)")
    return np.asarray(index.tz_convert(timezone).tz_localize(None).as_unit("ns").asi8)


def local_day_hours(first_day: dt.date, n_days: int, timezone: str) -> np.ndarray:
    """Length [h] of ``n_days`` local days from ``first_day``: 23, 24 or 25 around DST."""
    midnights = pd.date_range(pd.Timestamp(first_day), periods=n_days + 1, freq="D")
    utc = midnights.tz_localize(timezone, ambiguous=False, nonexistent="shift_forward")
    return np.diff(utc.as_unit("ns").asi8) / (60 * NS_PER_MIN)


def day_profiles(consumption_kw: pd.Series, *, timezone: str) -> DayProfiles:
    """The history as local days x time-of-day slots (see the module docstring)."""
    series = consumption_kw.dropna()
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValidationFailed("the load series needs a DatetimeIndex")
    step = _step_minutes(pd.DatetimeIndex(consumption_kw.index))
    wall = local_wall_ns(pd.DatetimeIndex(series.index), timezone)
    day_id = wall // NS_PER_DAY
    slot = (wall % NS_PER_DAY) // (step * NS_PER_MIN)
    first, n_days, n_slots = int(day_id.min()), int(day_id.max() - day_id.min()) + 1, 1440 // step
    flat = (day_id - first) * n_slots + slot
    sums = np.bincount(flat, weights=series.to_numpy(dtype="float64"), minlength=n_days * n_slots)
    counts = np.bincount(flat, minlength=n_days * n_slots).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        load = (sums / counts).reshape(n_days, n_slots)
    first_day = EPOCH + dt.timedelta(days=first)
    expected = np.rint(local_day_hours(first_day, n_days, timezone) * 60 / step)
    complete = counts.reshape(n_days, n_slots).sum(axis=1) >= expected
    return DayProfiles(load, complete, first_day, step, timezone)


def holidays_between(country: str | None, first: dt.date, last: dt.date) -> set[dt.date]:
    """Public holidays of ``country`` (``holidays`` package) from ``first`` to ``last``."""
    found = _holidays(country, first.year, last.year)
    return {d for d in found if first <= d <= last}


@lru_cache(maxsize=32)
def _holidays(country: str | None, first_year: int, last_year: int) -> frozenset[dt.date]:
    """The calendar of a country for some years (cached: building it costs milliseconds)."""
    found = holiday_dates(country, range(first_year, last_year + 1))
    return frozenset(d for d in found if isinstance(d, dt.date))


def day_pool(day: dt.date, holidays: Collection[dt.date], *, like_days: bool = False) -> str:
    """The pool of ``day``: weekday, or weekend/holiday (Saturday vs Sunday/holiday with
    ``like_days``)."""
    weekday = day.weekday()
    if weekday < 5 and day not in holidays:
        return WEEKDAY
    if not like_days:
        return WEEKEND
    return SATURDAY if weekday == 5 and day not in holidays else SUNDAY_HOLIDAY


@dataclass(frozen=True)
class EligibleDays:
    """The days a baseline may use, most recent first, and why others were passed over."""

    days: list[dt.date]
    skipped: dict[dt.date, str]  # day -> "excluded" | "incomplete" | "low_usage" | "other pool"


def eligible_days(
    profiles: DayProfiles,
    event_day: dt.date,
    *,
    count: int,
    max_lookback_days: int,
    event_slots: np.ndarray,
    excluded: Collection[dt.date] = (),
    holidays: Collection[dt.date] = (),
    like_days: bool = False,
    skip_days: int = 0,
    low_usage_fraction: float | None = None,
) -> EligibleDays:
    """Up to ``count`` eligible days before ``event_day``, most recent first.

    Candidates are the days of the event's pool within ``max_lookback_days`` calendar days before
    the event (the first ``skip_days`` days before it are not used), with complete data and not
    in ``excluded``. With ``low_usage_fraction`` (PJM and NYISO: 0.25), a day whose mean load over
    the event slots is below that fraction of the mean of the first ``count`` candidates is
    skipped as low-usage and the look-back goes one day further, as those methods prescribe.
    """
    pool = day_pool(event_day, holidays, like_days=like_days)
    excluded_set = set(excluded)
    candidates: list[dt.date] = []
    skipped: dict[dt.date, str] = {}
    for back in range(1 + skip_days, max_lookback_days + 1):
        day = event_day - dt.timedelta(days=back)
        if day < profiles.first_day:
            break
        if day_pool(day, holidays, like_days=like_days) != pool:
            continue
        if day in excluded_set:
            skipped[day] = "excluded"
        elif not profiles.has(day) or not profiles.complete[profiles.row(day)]:
            skipped[day] = "incomplete"
        else:
            candidates.append(day)
    if low_usage_fraction is not None and candidates:
        usage = window_means(profiles, candidates, event_slots)
        threshold = low_usage_fraction * float(np.mean(usage[:count]))
        low = {d for d, u in zip(candidates, usage, strict=True) if u < threshold}
        skipped.update(dict.fromkeys(low, "low_usage"))
        candidates = [d for d in candidates if d not in low]
    return EligibleDays(candidates[:count], skipped)


def window_means(profiles: DayProfiles, days: Iterable[dt.date], slots: np.ndarray) -> np.ndarray:
    """Mean load [kW] of each day over ``slots`` (NaN slots, e.g. a DST gap, ignored)."""
    rows = np.array([profiles.row(d) for d in days], dtype="int64")
    return np.nanmean(profiles.values[np.ix_(rows, slots)], axis=1)
