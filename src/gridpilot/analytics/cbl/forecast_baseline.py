"""A day-ahead load forecast used as the baseline of an event.

The forecast must have been issued before the event starts (``issued_at``): a baseline made
after the customer knows of the event could include the curtailment. The forecast's values on
the event's intervals are the baseline; an adjustment is not applied (a forecast already uses
the morning's readings when it is issued late enough).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

from gridpilot.analytics.cbl.result import CblResult, event_window
from gridpilot.core.errors import ValidationFailed

METHOD = "forecast"


def forecast_baseline(
    forecast_kw: pd.Series,
    *,
    event_start: pd.Timestamp | dt.datetime | str,
    event_end: pd.Timestamp | dt.datetime | str,
    timezone: str,
    step_minutes: int = 15,
    issued_at: pd.Timestamp | dt.datetime | str | None = None,
    model: str = "",
) -> CblResult:
    """The forecast [kW] over each interval of the event as the baseline.

    ``forecast_kw``: forecast mean load per interval (UTC index, ``step_minutes``) covering the
    event. ``issued_at``: when the forecast was made; must be before ``event_start``.
    """
    event = event_window(
        event_start, event_end, step_minutes=step_minutes, timezone=timezone, within_one_day=False
    )  # a forecast covers any interval: an event across midnight needs no cut
    issued = None if issued_at is None else pd.Timestamp(issued_at)
    if issued is not None:
        if issued.tzinfo is None:
            raise ValidationFailed("issued_at must be time-zone aware")
        if issued >= event.index[0]:
            raise ValidationFailed("a forecast baseline must be issued before the event starts")
    index = forecast_kw.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValidationFailed("forecast timestamps must be time-zone aware (UTC)")
    values = forecast_kw.tz_convert("UTC").reindex(event.index)
    if values.isna().any():
        missing = values.index[values.isna()]
        raise ValidationFailed(f"the forecast does not cover the event interval at {missing[0]}")
    baseline = values.astype("float64").rename("baseline_kw")
    return CblResult(
        method=METHOD,
        parameters={
            "issued_at": None if issued is None else issued.isoformat(),
            "model": model,
            "step_minutes": step_minutes,
        },
        baseline_kw=baseline,
        unadjusted_kw=baseline.rename("unadjusted_kw"),
        source="day-ahead load forecast issued before the event",
        adjustment={"kind": "none"},
    )
