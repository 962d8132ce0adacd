"""Customer baseline load (CBL) for demand response: pure functions, no I/O.

Day matching X-of-Y with a day-of adjustment (``matching``, ``days``, ``adjustment``) under named
ISO/utility presets (``presets``), a weather-regression baseline (``weather``), a day-ahead
forecast as the baseline (``forecast_baseline``), the achieved reduction and performance of an
event (``reduction``) and accuracy on placebo days (``accuracy``). Every method returns a
``CblResult`` whose ``record()`` an event stores. See docs/demand-response.md.
"""

from gridpilot.analytics.cbl.accuracy import PlaceboAccuracy, placebo_accuracy, placebo_windows
from gridpilot.analytics.cbl.adjustment import ADDITIVE, NONE, RATIO, Adjustment
from gridpilot.analytics.cbl.days import NotEnoughDays, day_profiles
from gridpilot.analytics.cbl.forecast_baseline import forecast_baseline
from gridpilot.analytics.cbl.matching import baseline_from_profiles, customer_baseline
from gridpilot.analytics.cbl.presets import PRESETS, CblMethod, PoolRule, preset
from gridpilot.analytics.cbl.reduction import (
    EventPerformance,
    achieved_reduction_kw,
    event_performance,
)
from gridpilot.analytics.cbl.result import CblResult, event_window
from gridpilot.analytics.cbl.weather import weather_baseline, weather_from_profiles

__all__ = [
    "ADDITIVE",
    "NONE",
    "PRESETS",
    "RATIO",
    "Adjustment",
    "CblMethod",
    "CblResult",
    "EventPerformance",
    "NotEnoughDays",
    "PlaceboAccuracy",
    "PoolRule",
    "achieved_reduction_kw",
    "baseline_from_profiles",
    "customer_baseline",
    "day_profiles",
    "event_performance",
    "event_window",
    "forecast_baseline",
    "placebo_accuracy",
    "placebo_windows",
    "preset",
    "weather_baseline",
    "weather_from_profiles",
]
