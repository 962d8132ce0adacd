"""Rule kinds on one metric of an asset: ``threshold`` and ``rate_of_change``.

They see the newest value per asset and metric of each stored batch (``readings.stored``): a
value inside a batch that is not the newest is not seen, which is what a monitoring rule needs.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

from pydantic import Field

from gridpilot.alerts.views import (
    AssetView,
    Clear,
    Decision,
    Raise,
    RuleView,
    Seconds,
    State,
    subject_of,
)
from gridpilot.assets.catalogue import metric_name, quantity
from gridpilot.core.bodies import Strict
from gridpilot.core.timestamps import MS_PER_MIN, MS_PER_S

_MAX_HISTORY = 2000
Latest = dict[str, dict[str, Any]]


class ThresholdParams(Strict):
    """Above (below) ``threshold`` for ``duration_s`` [s]; clears once back by ``hysteresis``
    (both in the metric's unit)."""

    operator: Literal["above", "below"] = "above"
    threshold: float = Field(ge=-1e12, le=1e12)
    hysteresis: float = Field(default=0.0, ge=0, le=1e12)
    duration_s: Seconds = 0.0


class RateParams(Strict):
    """Changes faster than ``max_rate_per_min`` (metric unit per minute) over ``window_s`` [s];
    ``direction`` rise, fall or any."""

    max_rate_per_min: float = Field(gt=0, le=1e12)
    window_s: float = Field(default=300.0, gt=0, le=86400, description="seconds")
    direction: Literal["rise", "fall", "any"] = "any"


def breached(operator: str, value: float, threshold: float) -> bool:
    return value > threshold if operator == "above" else value < threshold


def cleared(operator: str, value: float, threshold: float, hysteresis: float) -> bool:
    """Back inside the limit by at least ``hysteresis`` (so a value on the edge does not flap)."""
    if operator == "above":
        return value <= threshold - hysteresis
    return value >= threshold + hysteresis


def rate_per_min(points: deque[tuple[int, float]], window_ms: int) -> float | None:
    """Change per minute between the oldest point within ``window_ms`` of the newest and the
    newest; None with fewer than two points in the window."""
    if len(points) < 2:
        return None
    newest_ts, newest = points[-1]
    for ts, value in points:
        if newest_ts - ts <= window_ms and ts < newest_ts:
            return (newest - value) / ((newest_ts - ts) / MS_PER_MIN)
    return None


def _decided(
    action: str | None, rule: RuleView, asset: AssetView, found: tuple[str, str, float, dict]
) -> list[Decision]:
    title, message, value, detail = found
    if action == "raise":
        return [Raise(rule.id, asset.site_id, asset.id, title, message, value, detail)]
    if action == "clear":
        return [Clear(rule.id, subject_of(asset.site_id, asset.id), value)]
    return []


def threshold_reading(
    state: State, rule: RuleView, asset: AssetView, latest: Latest, now: int
) -> list[Decision]:
    if rule.metric not in latest:
        return []
    p = rule.params
    ts, value = int(latest[rule.metric]["ts"]), float(latest[rule.metric]["value"])
    threshold = float(p["threshold"])
    action = state.step(
        (rule.id, subject_of(asset.site_id, asset.id)),
        ts,
        breached(p["operator"], value, threshold),
        cleared(p["operator"], value, threshold, float(p["hysteresis"])),
        float(p["duration_s"]),
    )
    name, limit = metric_name(rule.metric), quantity(threshold, rule.metric)
    title = f"{asset.name}: {name} {p['operator']} {limit}"
    message = f"{name} {quantity(value, rule.metric)} is {p['operator']} {limit} ({rule.name})"
    detail = {"threshold": threshold, "operator": p["operator"], "ts": ts}
    return _decided(action, rule, asset, (title, message, value, detail))


def rate_reading(
    state: State, rule: RuleView, asset: AssetView, latest: Latest, now: int
) -> list[Decision]:
    if rule.metric not in latest:
        return []
    p = rule.params
    ts, value = int(latest[rule.metric]["ts"]), float(latest[rule.metric]["value"])
    points = state.history.setdefault((asset.id, rule.metric), deque(maxlen=_MAX_HISTORY))
    if not points or ts > points[-1][0]:
        points.append((ts, value))
    window_ms = round(float(p["window_s"]) * MS_PER_S)
    while points and ts - points[0][0] > window_ms:
        points.popleft()
    rate = rate_per_min(points, window_ms)
    if rate is None:
        return []
    limit = float(p["max_rate_per_min"])
    fast = {"rise": rate > limit, "fall": -rate > limit}.get(p["direction"], abs(rate) > limit)
    action = state.step((rule.id, subject_of(asset.site_id, asset.id)), ts, fast, not fast, 0.0)
    name = metric_name(rule.metric)
    title = f"{asset.name}: {name} changing fast"
    change, most = quantity(rate, rule.metric), quantity(limit, rule.metric)
    sign = "+" if rate > 0 else ""
    message = f"{name} changes {sign}{change}/min (limit {most}/min, {rule.name})"
    detail = {"rate_per_min": rate, "max_rate_per_min": limit, "ts": ts}
    return _decided(action, rule, asset, (title, message, rate, detail))
