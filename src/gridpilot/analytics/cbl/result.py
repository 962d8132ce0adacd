"""The event window, and the result every baseline method returns (what an event stores)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.analytics.cbl.days import EPOCH, NS_PER_DAY, NS_PER_MIN, local_wall_ns
from gridpilot.core.errors import ValidationFailed


@dataclass(frozen=True)
class EventWindow:
    """The intervals of an event [start, end) in UTC, and their local day and time-of-day slots."""

    index: pd.DatetimeIndex  # UTC start of each interval
    day: dt.date  # the local day of the event
    slots: np.ndarray  # int: local time-of-day slot of each interval
    step_minutes: int
    timezone: str


def _utc(ts: pd.Timestamp | dt.datetime | str) -> pd.Timestamp:
    stamp = pd.Timestamp(ts)
    if stamp.tzinfo is None:
        raise ValidationFailed("event start and end must be time-zone aware")
    return stamp.tz_convert("UTC")


def event_window(
    start: pd.Timestamp | dt.datetime | str,
    end: pd.Timestamp | dt.datetime | str,
    *,
    step_minutes: int,
    timezone: str,
    within_one_day: bool = True,
) -> EventWindow:
    """The ``step_minutes`` intervals of [``start``, ``end``), starting on an interval boundary;
    within one local day unless ``within_one_day`` is false (``day`` is then the first one;
    day matching cuts longer events with ``local_day_parts``)."""
    start_utc, end_utc = _utc(start), _utc(end)
    step = pd.Timedelta(minutes=step_minutes)
    if end_utc <= start_utc:
        raise ValidationFailed("the event must end after it starts")
    if (start_utc - pd.Timestamp(0, tz="UTC")) % step or (end_utc - start_utc) % step:
        raise ValidationFailed(f"event start and end must fall on {step_minutes}-min boundaries")
    index = pd.date_range(start_utc, end_utc, freq=step, inclusive="left")
    wall = local_wall_ns(index, timezone)
    days = np.unique(wall // NS_PER_DAY)
    if within_one_day and len(days) != 1:
        raise ValidationFailed("the event must lie within one local day")
    slots = (wall % NS_PER_DAY) // (step_minutes * NS_PER_MIN)
    day = EPOCH + dt.timedelta(days=int(days.min()))
    return EventWindow(index, day, slots.astype("int64"), step_minutes, timezone)


def local_day_parts(
    start: pd.Timestamp | dt.datetime | str,
    end: pd.Timestamp | dt.datetime | str,
    *,
    step_minutes: int,
    timezone: str,
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """[``start``, ``end``) cut at each local midnight it crosses: (start, end) in UTC of each
    part, every part within one local day (an evening event from 23:00 to 01:00 gives two)."""
    start_utc, end_utc = _utc(start), _utc(end)
    step = pd.Timedelta(minutes=step_minutes)
    index = pd.date_range(start_utc, end_utc, freq=step, inclusive="left")
    if len(index) == 0:
        return [(start_utc, end_utc)]
    days = local_wall_ns(index, timezone) // NS_PER_DAY
    cuts = [0, *(np.flatnonzero(np.diff(days)) + 1).tolist(), len(index)]
    return [
        (index[a], index[b - 1] + step if b < len(index) else end_utc) for a, b in pairwise(cuts)
    ]


def window_before(event: EventWindow, start_h: float, end_h: float) -> EventWindow | None:
    """The intervals from ``start_h`` to ``end_h`` hours before the event start that fall on the
    event's local day (None when none does, e.g. an event starting just after midnight)."""
    first = event.index[0]
    index = pd.date_range(
        first - pd.Timedelta(hours=start_h),
        first - pd.Timedelta(hours=end_h),
        freq=pd.Timedelta(minutes=event.step_minutes),
        inclusive="left",
    )
    wall = local_wall_ns(index, event.timezone)
    same_day = wall // NS_PER_DAY == (event.day - EPOCH).days
    if not same_day.any():
        return None
    slots = (wall[same_day] % NS_PER_DAY) // (event.step_minutes * NS_PER_MIN)
    return EventWindow(
        index[same_day], event.day, slots.astype("int64"), event.step_minutes, event.timezone
    )


@dataclass(frozen=True)
class CblResult:
    """A baseline over an event's intervals and how it was made.

    ``baseline_kw`` is the (adjusted) baseline per interval, ``unadjusted_kw`` the same before the
    day-of adjustment. ``record()`` is what an event stores: the method, its parameters, the days
    used and the adjustment applied, so a settlement can be recomputed and explained.
    """

    method: str
    parameters: dict[str, Any]
    baseline_kw: pd.Series
    unadjusted_kw: pd.Series
    source: str = ""
    selected_days: list[dt.date] = field(default_factory=list)
    eligible_days: list[dt.date] = field(default_factory=list)
    skipped_days: dict[dt.date, str] = field(default_factory=dict)
    adjustment: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """JSON-ready summary for the event (dates as ISO strings)."""
        return {
            "method": self.method,
            "parameters": self.parameters,
            "source": self.source,
            "selected_days": [d.isoformat() for d in self.selected_days],
            "eligible_days": [d.isoformat() for d in self.eligible_days],
            "skipped_days": {d.isoformat(): why for d, why in sorted(self.skipped_days.items())},
            "adjustment": self.adjustment,
        }
