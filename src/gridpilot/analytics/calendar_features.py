"""Calendar facts of a time series: its frequency, its seasonal periods, day types and holidays.

Pure functions over pandas indexes (no I/O). Times are converted to the series' local time zone
before the hour of day, the day of week or a holiday is read, so the daily profile follows the
wall clock over a DST change.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

MS_PER_MIN = 60_000
MS_PER_DAY = 86_400_000
MS_PER_WEEK = 7 * MS_PER_DAY

#: Smallest and largest step (ms) the forecaster supports: 1 s to 1 day.
MIN_STEP_MS = 1000
MAX_STEP_MS = MS_PER_DAY

#: Day types: 0 working day (Mon-Fri), 1 Saturday, 2 Sunday or public holiday.
WORKDAY, SATURDAY, SUNDAY_OR_HOLIDAY = 0, 1, 2

#: Buckets of the daily profile: at most 96 (15 min); finer series share a bucket.
MAX_DAY_BUCKETS = 96

_ZONE_TABLES = ("/usr/share/zoneinfo/zone.tab", "/usr/share/zoneinfo/zone1970.tab")


def infer_step_ms(index: pd.DatetimeIndex) -> int:
    """The sampling step [ms] of ``index`` (sorted, unique timestamps).

    The step is the most common difference between consecutive timestamps. Gaps are allowed
    (missing rows become NaN) but every difference must be a whole multiple of the step.
    Raises ``ValidationFailed`` for fewer than 3 timestamps, duplicates, unsorted or irregular
    timestamps, and steps outside 1 s .. 1 day.
    """
    if len(index) < 3:
        raise ValidationFailed("at least 3 timestamps are needed to infer the frequency")
    ms = index.as_unit("ms").asi8
    diffs = np.diff(ms)
    if (diffs <= 0).any():
        where = int(np.argmax(diffs <= 0)) + 1
        raise ValidationFailed(
            f"timestamps must be strictly increasing (row {where}: {index[where]} does not"
            f" follow {index[where - 1]})"
        )
    values, counts = np.unique(diffs, return_counts=True)
    step = int(values[np.argmax(counts)])
    if step < MIN_STEP_MS or step > MAX_STEP_MS:
        raise ValidationFailed(
            f"the inferred step of {step / 1000:g} s is outside the supported 1 s .. 1 day"
        )
    off = diffs % step != 0
    if off.any():
        where = int(np.argmax(off)) + 1
        raise ValidationFailed(
            f"irregular timestamps: the step is {step / 1000:g} s but row {where} ({index[where]})"
            f" comes {diffs[where - 1] / 1000:g} s after the previous one"
        )
    return step


def seasonal_periods(step_ms: int, n_points: int) -> dict[str, int]:
    """The seasonal periods (in steps) a series of ``n_points`` at ``step_ms`` can support.

    ``daily`` when the step divides a day into at least 4 parts and the history spans at least
    2 days; ``weekly`` when the step divides a week and the history spans at least 2 weeks.
    """
    periods: dict[str, int] = {}
    span_ms = n_points * step_ms
    if MS_PER_DAY % step_ms == 0 and MS_PER_DAY // step_ms >= 4 and span_ms >= 2 * MS_PER_DAY:
        periods["daily"] = MS_PER_DAY // step_ms
    if MS_PER_WEEK % step_ms == 0 and span_ms >= 2 * MS_PER_WEEK:
        periods["weekly"] = MS_PER_WEEK // step_ms
    return periods


def regular_index(start: pd.Timestamp, periods: int, step_ms: int) -> pd.DatetimeIndex:
    """``periods`` UTC timestamps from ``start`` every ``step_ms``."""
    return pd.DatetimeIndex(
        pd.date_range(start=start, periods=periods, freq=pd.Timedelta(milliseconds=step_ms))
    )


def _zone_tables() -> list[str]:
    """Texts of tzdata's zone tables: the system's, else the ``tzdata`` package's."""
    texts = [Path(p).read_text(encoding="utf-8") for p in _ZONE_TABLES if Path(p).exists()]
    if not texts:
        try:
            from importlib.resources import files

            texts = [files("tzdata").joinpath("zoneinfo", "zone.tab").read_text(encoding="utf-8")]
        except (ModuleNotFoundError, OSError):
            return []
    return texts


@lru_cache(maxsize=64)
def country_for_timezone(timezone: str) -> str | None:
    """ISO 3166 country code of an IANA time zone (``Europe/Rome`` -> ``IT``), from tzdata's
    zone tables (the first listed country of a shared zone); None when unknown."""
    for text in _zone_tables():
        for line in text.splitlines():
            parts = line.split("\t")
            if not line.startswith("#") and len(parts) >= 3 and parts[2] == timezone:
                return parts[0].split(",")[0]
    return None


@lru_cache(maxsize=64)
def holiday_country(timezone: str | None) -> str | None:
    """The country of ``timezone`` when the ``holidays`` package has its calendar, else None
    (so an automatic choice never fails a forecast)."""
    code = country_for_timezone(timezone) if timezone else None
    if code is None:
        return None
    import holidays

    try:
        holidays.country_holidays(code)
    except NotImplementedError:
        return None
    return code


def holiday_dates(country: str | None, years: range) -> set[object]:
    """Public holidays (``datetime.date``) of ``country`` in ``years`` (empty when unknown)."""
    if not country:
        return set()
    import holidays

    try:
        return set(holidays.country_holidays(country, years=list(years)).keys())
    except NotImplementedError as exc:
        raise ValidationFailed(f"no public-holiday calendar for country {country!r}") from exc


@dataclass(frozen=True)
class Calendar:
    """Per-timestamp calendar facts in local time (arrays aligned with the index)."""

    bucket: np.ndarray  # int: position in the day, 0 .. n_buckets-1
    day_of_week: np.ndarray  # int: Monday 0 .. Sunday 6
    day_type: np.ndarray  # int: WORKDAY, SATURDAY or SUNDAY_OR_HOLIDAY
    holiday: np.ndarray  # bool
    n_buckets: int


def calendar(
    index: pd.DatetimeIndex, *, step_ms: int, timezone: str | None, country: str | None
) -> Calendar:
    """Calendar facts of ``index`` (UTC or tz-aware) in ``timezone`` (None: as given)."""
    local = index.tz_convert(timezone) if timezone and index.tz is not None else index
    steps_per_day = max(1, MS_PER_DAY // step_ms)
    n_buckets = min(steps_per_day, MAX_DAY_BUCKETS)
    minute_of_day = np.asarray(local.hour * 60 + local.minute, dtype="int64")
    bucket = np.minimum(minute_of_day * n_buckets // 1440, n_buckets - 1)
    day_of_week = np.asarray(local.day_of_week, dtype="int64")
    holiday = np.zeros(len(local), dtype=bool)
    if country and len(local):
        years = range(int(local.year.min()), int(local.year.max()) + 1)
        holiday_set = holiday_dates(country, years)
        wall = local.tz_localize(None) if local.tz is not None else local
        days, inverse = np.unique(wall.normalize().as_unit("ms").asi8, return_inverse=True)
        flags = [pd.Timestamp(day, unit="ms").date() in holiday_set for day in days]
        holiday = np.asarray(flags, dtype=bool)[inverse]
    day_type = np.where(day_of_week == 5, SATURDAY, WORKDAY)
    day_type = np.where((day_of_week == 6) | holiday, SUNDAY_OR_HOLIDAY, day_type)
    return Calendar(bucket, day_of_week, day_type, holiday, n_buckets)


def one_hot(codes: np.ndarray, n: int, *, drop_first: bool) -> np.ndarray:
    """Indicator columns of integer ``codes`` in ``0..n-1`` (the first dropped when asked)."""
    out = np.zeros((len(codes), n))
    out[np.arange(len(codes)), codes] = 1.0
    return out[:, 1:] if drop_first else out


def calendar_blocks(cal: Calendar, *, daily: bool, weekly: bool) -> list[tuple[np.ndarray, bool]]:
    """The calendar's feature blocks, each with whether it is a working weekday's hour profile
    (the forecaster penalises those more): time of day, day of week (a
    public holiday at Sunday's level, as it takes the Sunday profile: a Monday holiday at
    Monday's level would carry the working hours' load into a quiet day), hour profiles per
    day type and per working weekday."""
    blocks: list[tuple[np.ndarray, bool]] = []
    if daily:
        blocks.append((one_hot(cal.bucket, cal.n_buckets, drop_first=True), False))
    if not weekly:
        return blocks
    day_level = np.where(cal.holiday, 6, cal.day_of_week)
    blocks.append((one_hot(day_level, 7, drop_first=True), False))
    if cal.holiday.any():
        blocks.append((cal.holiday[:, None].astype("float64"), False))
    if daily:
        hours = one_hot(cal.bucket * 24 // cal.n_buckets, 24, drop_first=False)
        blocks.append((hours * (cal.day_type == SATURDAY)[:, None], False))
        blocks.append((hours * (cal.day_type == SUNDAY_OR_HOLIDAY)[:, None], False))
        working = cal.day_type == WORKDAY
        for day in range(5):
            weekday = hours * (working & (cal.day_of_week == day))[:, None]
            blocks.append((weekday, True))
    return blocks


def day_groups(cal: Calendar, *, daily: bool, weekly: bool, kinds: int) -> tuple[np.ndarray, int]:
    """(group of each row, number of groups): time of day x day kind (``kinds`` 3: the day
    types; 2: working day or not), without the time of day when not ``daily``, one kind when
    not ``weekly``."""
    n = len(cal.bucket)
    kind = cal.day_type if kinds == 3 else cal.day_type != WORKDAY
    kind = kind.astype("int64") if weekly else np.zeros(n, dtype="int64")
    if daily:
        return cal.bucket * kinds + kind, cal.n_buckets * kinds
    return (cal.day_type.astype("int64"), 3) if kinds == 2 else (kind, 3)
