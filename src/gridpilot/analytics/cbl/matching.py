"""Day-matching customer baseline (X-of-Y), per interval by local time of day, with the day-of
adjustment of its method.

    baseline_kw(slot) = mean over the selected days d of load_kw(d, slot)

where the selected days are the ``x`` highest (by mean load over the event window) of the ``y``
most recent eligible days of the event's pool, or all ``y`` of them (see ``days`` for
eligibility). The result is then adjusted (see ``adjustment``). Sources: the presets' documents
(``presets``); the method in general: KEMA / LBNL, "Estimating Demand Response Load Impacts:
Evaluation of Baseline Load Models for Non-Residential Buildings in California" (Coughlin et al.,
LBNL-63728, 2008).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

import numpy as np
import pandas as pd

from gridpilot.analytics.cbl.adjustment import adjust
from gridpilot.analytics.cbl.days import (
    WEEKDAY,
    DayProfiles,
    NotEnoughDays,
    day_pool,
    day_profiles,
    eligible_days,
    holidays_between,
    window_means,
)
from gridpilot.analytics.cbl.midnight import join_days
from gridpilot.analytics.cbl.presets import ALL, CblMethod, PoolRule, preset
from gridpilot.analytics.cbl.result import (
    CblResult,
    EventWindow,
    event_window,
    local_day_parts,
    window_before,
)


def select_days(days: list[dt.date], usage_kw: np.ndarray, rule: PoolRule) -> list[dt.date]:
    """The days to average: all of them (``select`` all) or the ``x`` with the highest
    ``usage_kw`` (ties go to the more recent day; ``days`` are most recent first)."""
    if rule.select == ALL:
        return list(days)
    order = np.argsort(-np.asarray(usage_kw, dtype="float64"), kind="stable")
    return [days[i] for i in order[: rule.x]]


def average_profile(profiles: DayProfiles, days: list[dt.date]) -> np.ndarray:
    """Mean load [kW] per time-of-day slot over ``days`` (a slot missing on a DST day is
    averaged over the days that have it)."""
    rows = [profiles.row(d) for d in days]
    with np.errstate(invalid="ignore"):
        return np.nanmean(profiles.values[rows], axis=0)


def baseline_from_profiles(
    profiles: DayProfiles,
    event: EventWindow,
    method: CblMethod,
    *,
    excluded: Collection[dt.date] = (),
    holidays: Collection[dt.date] = (),
) -> CblResult:
    """The ``method``'s baseline over ``event`` from prepared ``profiles`` (see module doc).

    Raises ``NotEnoughDays`` when the look-back holds fewer eligible days than the rule needs.
    """
    pool = day_pool(event.day, holidays, like_days=method.like_days)
    rule = method.weekday if pool == WEEKDAY else method.weekend
    found = eligible_days(
        profiles,
        event.day,
        count=rule.y,
        max_lookback_days=rule.lookback_days,
        event_slots=event.slots,
        excluded=excluded,
        holidays=holidays,
        like_days=method.like_days,
        skip_days=method.skip_days,
        low_usage_fraction=method.low_usage_fraction,
    )
    if len(found.days) < rule.needed:
        raise NotEnoughDays(
            f"{method.name}: only {len(found.days)} eligible {pool} days in the "
            f"{rule.lookback_days} days before {event.day} (needs {rule.needed}); "
            f"passed over: {_reasons(found.skipped)}",
            details={"eligible": [d.isoformat() for d in found.days]},
        )
    selected = select_days(found.days, window_means(profiles, found.days, event.slots), rule)
    profile = average_profile(profiles, selected)
    before = window_before(event, method.adjustment.window_start_h, method.adjustment.window_end_h)
    actual_window = baseline_window = None
    if before is not None and profiles.has(event.day):
        actual_window = profiles.values[profiles.row(event.day), before.slots]
        baseline_window = profile[before.slots]
    adjusted, info = adjust(method.adjustment, profile[event.slots], actual_window, baseline_window)
    info["window_start_h"] = method.adjustment.window_start_h
    info["window_end_h"] = method.adjustment.window_end_h
    return CblResult(
        method=method.name,
        parameters=method.parameters() | {"pool": pool},
        baseline_kw=pd.Series(adjusted, index=event.index, name="baseline_kw"),
        unadjusted_kw=pd.Series(profile[event.slots], index=event.index, name="unadjusted_kw"),
        source=method.source,
        selected_days=sorted(selected),
        eligible_days=found.days,
        skipped_days=found.skipped,
        adjustment=info,
    )


def _reasons(skipped: dict[dt.date, str]) -> str:
    counts: dict[str, int] = {}
    for why in skipped.values():
        counts[why] = counts.get(why, 0) + 1
    return ", ".join(f"{n} {why}" for why, n in sorted(counts.items())) or "none"


def customer_baseline(
    consumption_kw: pd.Series,
    *,
    event_start: pd.Timestamp | dt.datetime | str,
    event_end: pd.Timestamp | dt.datetime | str,
    timezone: str,
    method: str | CblMethod = "caiso_10in10",
    excluded_dates: Collection[dt.date] = (),
    holiday_country: str | None = None,
    holidays: Collection[dt.date] | None = None,
) -> CblResult:
    """Customer baseline load [kW] per interval of the event [``event_start``, ``event_end``).

    ``consumption_kw``: the site's metered consumption per interval (15 min or 1 h, UTC index),
    history before the event and the event day's readings up to the adjustment window.
    ``timezone``: the site's; days, pools and times of day are local. ``method``: a preset
    name (``presets.PRESETS``) or a ``CblMethod``. ``excluded_dates``: past event days, outages
    and other abnormal days. Holidays: ``holidays`` as given, else ``holiday_country``'s.
    """
    chosen = preset(method) if isinstance(method, str) else method
    profiles = day_profiles(consumption_kw, timezone=timezone)
    step = profiles.step_minutes
    windows = [
        event_window(a, b, step_minutes=step, timezone=timezone)
        for a, b in local_day_parts(event_start, event_end, step_minutes=step, timezone=timezone)
    ]  # one per local day: an event across midnight is baselined day by day (``midnight``)
    if holidays is None:
        holidays = holidays_between(holiday_country, profiles.first_day, windows[-1].day)
    parts = [
        (
            w.day,
            baseline_from_profiles(profiles, w, chosen, excluded=excluded_dates, holidays=holidays),
        )
        for w in windows
    ]
    return parts[0][1] if len(parts) == 1 else join_days(chosen.adjustment, parts)
