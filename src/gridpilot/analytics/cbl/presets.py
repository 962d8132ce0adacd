"""Named day-matching baseline methods (X-of-Y with a day-of adjustment) and their sources.

Each preset is one registry entry: the weekday pool rule, the weekend/holiday pool rule, the
adjustment and where the rule comes from. The parameters are those of the named documents as
gridpilot reads them (see docs/demand-response.md for the details and what differs); a programme
with other rules is a new ``CblMethod``, not a change to these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gridpilot.analytics.cbl.adjustment import ADDITIVE, RATIO, Adjustment
from gridpilot.core.errors import ValidationFailed

HIGHEST, ALL = "highest", "all"


@dataclass(frozen=True)
class PoolRule:
    """X-of-Y for one pool: the ``y`` most recent eligible days within ``lookback_days`` calendar
    days, of which the ``x`` with the highest mean event-window load (``select`` highest) or all
    of them (``select`` all, x == y) are averaged. ``min_days`` (default ``x``) is the fewest
    eligible days accepted before ``NotEnoughDays`` is raised."""

    x: int
    y: int
    lookback_days: int = 45
    select: str = HIGHEST
    min_days: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.x <= self.y or self.lookback_days < self.y:
            raise ValidationFailed("a pool rule needs 1 <= x <= y <= lookback_days")
        if self.select not in (HIGHEST, ALL) or (self.select == ALL and self.x != self.y):
            raise ValidationFailed("select is 'highest', or 'all' with x == y")

    @property
    def needed(self) -> int:
        return self.x if self.min_days is None else self.min_days


@dataclass(frozen=True)
class CblMethod:
    """A day-matching customer baseline method."""

    name: str
    title: str
    weekday: PoolRule
    weekend: PoolRule
    adjustment: Adjustment
    like_days: bool = False  # weekend pool split into Saturdays and Sundays/holidays
    skip_days: int = 0  # days just before the event that are not used
    low_usage_fraction: float | None = None
    source: str = ""
    url: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def parameters(self) -> dict[str, Any]:
        """The method's parameters as stored with an event."""
        data = asdict(self)
        for key in ("name", "title", "source", "url", "notes"):
            data.pop(key)
        return data


PRESETS: dict[str, CblMethod] = {
    m.name: m
    for m in (
        CblMethod(
            name="caiso_10in10",
            title="CAISO 10-in-10 with load point adjustment",
            weekday=PoolRule(10, 10, lookback_days=45, select=ALL, min_days=5),
            weekend=PoolRule(4, 4, lookback_days=45, select=ALL, min_days=2),
            adjustment=Adjustment(RATIO, window_start_h=4, window_end_h=1, cap=0.20),
            source="CAISO Business Practice Manual for Metering, Customer Load Baseline "
            "Methodology (10-in-10 weekdays, 4-in-4 weekends/holidays, 45-day look-back, "
            "load point adjustment capped at +-20 %)",
            url="https://bpmcm.caiso.com/Pages/BPMDetails.aspx?BPM=Metering",
        ),
        CblMethod(
            name="nyiso_high5of10",
            title="NYISO CBL: high 5 of 10 weekdays, high 2 of 3 like weekend days",
            weekday=PoolRule(5, 10, lookback_days=30),
            weekend=PoolRule(2, 3, lookback_days=30),
            adjustment=Adjustment(RATIO, window_start_h=4, window_end_h=2, cap=0.20),
            like_days=True,
            skip_days=1,
            low_usage_fraction=0.25,
            source="NYISO Emergency Demand Response Program Manual (Manual 7) and Installed "
            "Capacity Manual (Manual 4), Customer Baseline Load: the CBL window starts two days "
            "before the event; low-usage days (< 25 % of the window average) replaced; in-day "
            "adjustment from the 2 hours starting 4 hours before the event, within 0.8-1.2",
            url="https://www.nyiso.com/manuals-tech-bulletins-user-guides",
        ),
        CblMethod(
            name="pjm_high4of5",
            title="PJM economic CBL: high 4 of 5 weekdays, Symmetric Additive Adjustment",
            weekday=PoolRule(4, 5, lookback_days=45),
            weekend=PoolRule(2, 3, lookback_days=45),
            adjustment=Adjustment(ADDITIVE, window_start_h=4, window_end_h=1, cap=None),
            like_days=True,
            low_usage_fraction=0.25,
            source="PJM Manual 11: Energy & Ancillary Services Market Operations, Customer "
            "Baseline Load (high 4 of 5 weekdays, high 2 of 3 Saturdays or Sundays/holidays, "
            "45-day look-back, low-usage days < 25 % replaced, Symmetric Additive Adjustment "
            "over the 3 hours ending 1 hour before the event)",
            url="https://www.pjm.com/directory/manuals/m11/index.html",
        ),
        CblMethod(
            name="pge_10in10",
            title="PG&E 10-in-10 (Capacity Bidding Program), weekends high 4 of 5",
            weekday=PoolRule(10, 10, lookback_days=45, select=ALL, min_days=5),
            weekend=PoolRule(4, 5, lookback_days=45),
            adjustment=Adjustment(RATIO, window_start_h=4, window_end_h=1, cap=0.40),
            source="PG&E Electric Schedule E-CBP (Capacity Bidding Program): 10-day baseline "
            "with a day-of adjustment capped at +-40 %",
            url="https://www.pge.com/tariffs/en/rate-information/electric-rates.html",
            notes=("the weekend rule (4 of 5 or 3 of 5) depends on the programme",),
        ),
        CblMethod(
            name="pge_high5of10",
            title="PG&E residential: high 5 of 10 weekdays, high 3 of 5 weekends/holidays",
            weekday=PoolRule(5, 10, lookback_days=45),
            weekend=PoolRule(3, 5, lookback_days=45),
            adjustment=Adjustment(RATIO, window_start_h=4, window_end_h=1, cap=0.20),
            source="PG&E Power Saver Rewards FAQ: the 5 highest of the 10 previous weekdays, "
            "the 3 highest of the 5 previous weekend days or holidays, event and outage days "
            "excluded, adjusted for the event day's usage",
            url="https://powersaver.pge.com/faq/",
            notes=(
                "PG&E weights the weekend days and adjusts with hours before and after the "
                "event; gridpilot averages them equally and adjusts with hours before only",
                "the cap is gridpilot's default (+-20 %), the FAQ does not state one",
            ),
        ),
    )
}


def preset(name: str) -> CblMethod:
    """The preset ``name``; raises ``ValidationFailed`` listing the known names."""
    try:
        return PRESETS[name]
    except KeyError:
        known = ", ".join(sorted(PRESETS))
        raise ValidationFailed(f"unknown baseline method {name!r}; known: {known}") from None
