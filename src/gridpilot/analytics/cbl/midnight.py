"""Events across local midnight: one baseline per local day of the event, joined.

Day matching works per local day (the matched days' profile of that day's pool, weekday or
weekend/holiday), so an evening event from 23:00 to 01:00 is baselined as two parts: 23:00-24:00
from the days like the first day, 00:00-01:00 from the days like the second. The day-of
adjustment is the event's, worked out once from the window before the event's start (on the
first day) and applied to every part, as CAISO and NYISO apply one ratio to all event hours.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from gridpilot.analytics.cbl.adjustment import Adjustment, apply_adjustment
from gridpilot.analytics.cbl.result import CblResult


def join_days(spec: Adjustment, parts: list[tuple[dt.date, CblResult]]) -> CblResult:
    """One result from the per-day ``parts`` (in time order); the first part's adjustment is
    applied to the later parts' unadjusted baselines."""
    first = parts[0][1]
    applied = first.adjustment.get("applied")
    baselines = [first.baseline_kw]
    for _, later in parts[1:]:
        adjusted = apply_adjustment(spec, later.unadjusted_kw.to_numpy(), applied)
        baselines.append(pd.Series(adjusted, index=later.unadjusted_kw.index))
    days: list[dict[str, Any]] = [
        {
            "day": day.isoformat(),
            "pool": result.parameters.get("pool"),
            "selected_days": [d.isoformat() for d in result.selected_days],
        }
        for day, result in parts
    ]
    skipped: dict[dt.date, str] = {}
    for _, result in parts:
        skipped |= result.skipped_days
    note = "worked out before the event's start and applied to every local day of the event"
    return CblResult(
        method=first.method,
        parameters=first.parameters | {"days": days},
        baseline_kw=pd.concat(baselines).rename("baseline_kw"),
        unadjusted_kw=pd.concat([r.unadjusted_kw for _, r in parts]).rename("unadjusted_kw"),
        source=first.source,
        selected_days=sorted({d for _, r in parts for d in r.selected_days}),
        eligible_days=sorted({d for _, r in parts for d in r.eligible_days}, reverse=True),
        skipped_days=skipped,
        adjustment=first.adjustment | {"scope": note},
    )
