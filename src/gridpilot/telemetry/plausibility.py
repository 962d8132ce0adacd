"""Plausibility of power readings against their asset (pure: no I/O).

A reading of a power metric (canonical unit kW) is implausible when

* its absolute value exceeds the asset's ``rated_capacity_kw`` x ``GRIDPILOT_PLAUSIBILITY_FACTOR``
  (code ``over_capacity``; only for assets with a rated capacity), or
* it is negative, beyond a noise tolerance, while the metric is one-directional for the asset's
  role (``assets.catalogue.POWER_TERMS``: no negative term; e.g. a consumer's or a producer's
  ``power_kw``; code ``negative_power``). The tolerance is ``max(0.05 kW, 1 % of the rated
  capacity)``: a meter's noise around zero or an inverter's standby draw at night stays stored.

Each asset says what an implausible reading does (``assets.plausibility``): ``reject`` (default:
the reading is refused with its code and reason), ``flag`` (stored, and reported as a warning
with the same code) or ``off`` (not checked). Energy registers are not checked: an asset has no
rated energy, and their steps are checked where they are used (a drop is a reset).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from gridpilot.assets.catalogue import POWER_TERMS

#: Code of a power reading above the rated capacity x the factor.
OVER_CAPACITY = "over_capacity"
#: Code of a negative reading of a power metric that is one-directional for the asset's role.
NEGATIVE_POWER = "negative_power"
#: Canonical unit of the metrics checked against the rated capacity.
POWER_UNIT = "kW"
#: Noise tolerance of one-directional power below zero: at least this much [kW] ...
MIN_NEGATIVE_TOLERANCE_KW = 0.05
#: ... or this share of the rated capacity.
NEGATIVE_TOLERANCE_SHARE = 0.01


@dataclass(frozen=True, slots=True, eq=False)
class Plausibility:
    """An asset's plausible range of power [kW] and what a reading outside it does.

    Compared by identity (cheap to hash): validation shares its bounds among the assets of one
    object, and ``plausibility`` hands out one object per distinct set of inputs.
    """

    max_kw: float  #: |value| above this is implausible (``inf``: no capacity check)
    one_way: frozenset[str]  #: power metric keys of the role that are never negative
    min_one_way_kw: float  #: a one-way metric below this (minus the tolerance) is implausible
    flag: bool  #: store and warn instead of rejecting
    capacity_kw: float | None  #: for the reason
    factor: float | None  #: for the reason

    def bounds(self, key: str, lo: float, hi: float) -> tuple[float, float]:
        """``[lo, hi]`` (a kW metric's range) narrowed to what is plausible for ``key``."""
        lo, hi = max(lo, -self.max_kw), min(hi, self.max_kw)
        if key in self.one_way:
            lo = max(lo, self.min_one_way_kw)
        return lo, hi

    def breach(self, key: str, value: float) -> tuple[str, str] | None:
        """(code, reason) when ``value`` [kW] of metric ``key`` is implausible, else None."""
        if abs(value) > self.max_kw:
            return OVER_CAPACITY, (
                f"value {value:g} kW of {key} is implausible: more than {self.factor:g} x the "
                f"asset's rated capacity of {self.capacity_kw:g} kW"
            )
        if value < self.min_one_way_kw and key in self.one_way:
            return NEGATIVE_POWER, (
                f"value {value:g} kW of {key} is implausible: negative beyond the "
                f"{-self.min_one_way_kw:g} kW tolerance, and {key} of this asset's role only "
                "flows one way"
            )
        return None


@lru_cache(maxsize=4096)
def plausibility(
    role: str | None, capacity_kw: float | None, mode: str | None, factor: float | None
) -> Plausibility | None:
    """The checks of an asset of ``role`` rated ``capacity_kw`` [kW] in ``mode``, with the
    capacity ``factor`` (None or 0: no capacity check); None when nothing is checked."""
    if mode == "off":
        return None
    capacity = capacity_kw if capacity_kw is not None and capacity_kw > 0 else None
    max_kw = capacity * factor if capacity is not None and factor else math.inf
    terms = POWER_TERMS.get(role or "", {})
    one_way = frozenset(key for key, (_, negative) in terms.items() if negative is None)
    if max_kw == math.inf and not one_way:
        return None
    tolerance = max(MIN_NEGATIVE_TOLERANCE_KW, NEGATIVE_TOLERANCE_SHARE * (capacity or 0.0))
    return Plausibility(
        max_kw=max_kw,
        one_way=one_way,
        min_one_way_kw=-tolerance,
        flag=mode == "flag",
        capacity_kw=capacity,
        factor=factor,
    )
