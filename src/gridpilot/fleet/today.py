"""A site's energy today: its balance from local midnight to now, summed per term [kWh].

Each term's sum takes its known intervals (measured, derived or absent); a term known in no
interval so far is ``unknown`` (its sum is 0 in ``kwh`` but shown as unknown, not 0), and
``metered`` names the terms measured or derived in some interval (a plant's consumption,
assumed 0 where its generation is known, is not). ``coverage`` is the share of the day's
intervals so far in which every term is known, so a figure with low coverage is visibly
partial rather than silently low. Self-consumption and self-sufficiency
come from ``analytics.site_balance`` over the complete intervals, as everywhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from gridpilot.analytics.site_balance import (
    TERMS,
    Balance,
    self_consumption,
    self_sufficiency,
)
from gridpilot.balance.service import SiteBalance


@dataclass(frozen=True)
class SiteToday:
    """Each term's kWh since ``start_ms`` (local midnight), coverage (0-1), flagged intervals,
    and self-consumption / self-sufficiency (0-1, None without generation or consumption)."""

    start_ms: int
    kwh: dict[str, float]
    coverage: float
    flagged_intervals: int
    self_consumption: float | None
    self_sufficiency: float | None
    #: Terms known in no interval so far (no data today): unknown, not 0.
    unknown: frozenset[str] = frozenset()
    #: Terms measured or derived in some interval (not only absent, assumed or unknown).
    metered: frozenset[str] = frozenset()

    def known_kwh(self, term: str) -> float | None:
        """The term's energy today [kWh]; None when it is known in no interval so far."""
        return None if term in self.unknown else self.kwh[term]


def today_of(balance: SiteBalance, midnight_ms: int, now_ms: int) -> SiteToday:
    """The part of ``balance`` from ``midnight_ms`` (an interval edge) up to ``now_ms``."""
    first = max(0, (midnight_ms - balance.start_ms) // balance.step_ms)
    last = max(first, -(-(now_ms - balance.start_ms) // balance.step_ms))
    part = _slice(balance.balance, first, last)
    return SiteToday(
        start_ms=midnight_ms,
        kwh={t: float(np.nansum(part.values[t])) for t in TERMS},
        coverage=part.coverage(),
        flagged_intervals=int(np.count_nonzero(part.flagged)),
        self_consumption=self_consumption(part),
        self_sufficiency=self_sufficiency(part),
        unknown=frozenset(t for t in TERMS if _unknown(part.values[t])),
        metered=frozenset(t for t in TERMS if part.metered(t)),
    )


def _unknown(values: np.ndarray) -> bool:
    """Known in none of the intervals (there being some: none yet just after midnight)."""
    return bool(values.size) and bool(np.isnan(values).all())


def _slice(balance: Balance, first: int, last: int) -> Balance:
    """The intervals ``[first, last)`` of ``balance`` (every per-interval array cut alike)."""
    cut: dict[str, Any] = {}
    for item in fields(balance):
        value = getattr(balance, item.name)
        if isinstance(value, np.ndarray):
            cut[item.name] = value[first:last]
        elif isinstance(value, dict):
            cut[item.name] = {k: v[first:last] for k, v in value.items()}
        else:
            cut[item.name] = value
    return replace(balance, **cut)
