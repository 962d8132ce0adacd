"""Rule kinds on an asset as a device: ``stale`` (no data, or reported offline) and ``anomaly``
(``anomaly.detected`` events of the anomaly scans)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from gridpilot.alerts.views import (
    SEVERITY_RANK,
    AssetView,
    Clear,
    Decision,
    Raise,
    RuleView,
    Seconds,
    State,
    subject_of,
)
from gridpilot.assets.catalogue import metric_name
from gridpilot.core.bodies import Strict
from gridpilot.core.timestamps import MS_PER_S, iso


class StaleParams(Strict):
    """Offline when no reading arrived for ``max_age_s`` [s] (default: ``factor`` x the asset's
    expected interval, else the status default) or when the device reported offline
    (``use_status``)."""

    max_age_s: Seconds | None = None
    factor: float = Field(default=3.0, gt=0, le=1000)
    use_status: bool = True


class AnomalyParams(Strict):
    """``anomaly.detected`` with ``score`` >= ``min_score`` and at least ``min_severity``;
    resolves after ``clear_after_s`` [s] without a new anomaly."""

    min_score: float = Field(default=0.0, ge=0, le=1e12)
    min_severity: Literal["warning", "critical"] = "warning"
    clear_after_s: Seconds = 3600.0


# --- stale -------------------------------------------------------------------------------------


def _limit_ms(state: State, rule: RuleView, asset: AssetView) -> float:
    """``max_age_s``, else ``factor`` x the interval but at least ``state.min_stale_s``."""
    max_age = rule.params.get("max_age_s")
    if max_age is None:
        max_age = max(
            float(rule.params["factor"]) * (asset.expected_interval_s or state.default_interval_s),
            state.min_stale_s,
        )
    return float(max_age) * MS_PER_S


def _history_only(state: State, rule: RuleView, asset: AssetView) -> bool:
    """Whether the asset is not expected to report: its newest data was already too old when
    it arrived (a backfill, an import, a simulator catching up: history being written, not a
    device going quiet), none arrived since this process started (a silence that began
    before: its status says whether it was an outage, ``asset.status`` from ``control``), or
    its source was stopped on purpose (status ``stopped``). It raises nothing by its age
    until live data has arrived (and stopped)."""
    lag = state.arrival_lag_ms.get(asset.id)
    return lag is None or lag > _limit_ms(state, rule, asset)


def _stale_now(state: State, rule: RuleView, asset: AssetView, now: int) -> bool:
    if rule.params.get("use_status") and asset.id in state.offline_reported:
        return True
    seen = state.last_seen.get(asset.id)
    return seen is not None and now - seen > _limit_ms(state, rule, asset)


def stale_reading(
    state: State, rule: RuleView, asset: AssetView, latest: dict[str, Any], now: int
) -> list[Decision]:
    """Fresh data clears an open stale alert (raising waits for the tick or a status)."""
    key = (rule.id, subject_of(asset.site_id, asset.id))
    if key in state.open and not _stale_now(state, rule, asset, now):
        return [Clear(rule.id, key[1])]
    return []


def stale_status(state: State, rule: RuleView, asset: AssetView, now: int) -> list[Decision]:
    key = (rule.id, subject_of(asset.site_id, asset.id))
    if not _stale_now(state, rule, asset, now):
        return [Clear(rule.id, key[1])] if key in state.open else []
    if key in state.open:
        return []
    seen = state.last_seen.get(asset.id)
    reported = bool(rule.params.get("use_status")) and asset.id in state.offline_reported
    if not reported and _history_only(state, rule, asset):
        return []
    age_s = (now - seen) / MS_PER_S if seen is not None else None
    if reported:
        message = f"{asset.name} reported offline"
    else:
        message = f"No data from {asset.name} for {age_s:.0f} s"
    message += f" (limit {_limit_ms(state, rule, asset) / MS_PER_S:g} s, {rule.name})"
    detail = {"last_seen": iso(seen) if seen is not None else None, "reported": reported}
    return [
        Raise(rule.id, asset.site_id, asset.id, f"{asset.name} offline", message, age_s, detail)
    ]


def stale_tick(state: State, rule: RuleView, now: int) -> list[Decision]:
    decisions: list[Decision] = []
    for asset in state.assets.values():
        if rule.covers(asset):
            decisions += stale_status(state, rule, asset, now)
    return decisions


# --- anomaly -----------------------------------------------------------------------------------


def anomaly_event(
    state: State, rule: RuleView, asset: AssetView, payload: dict[str, Any], now: int
) -> list[Decision]:
    """Raise on an anomaly of the rule's metric (any without one) with enough score/severity."""
    p = rule.params
    metric = payload.get("metric")
    score = float(payload.get("score") or 0.0)
    severity = str(payload.get("severity", "warning"))
    if rule.metric is not None and rule.metric != metric:
        return []
    if score < float(p["min_score"]):
        return []
    if SEVERITY_RANK.get(severity, 1) < SEVERITY_RANK[p["min_severity"]]:
        return []
    key = (rule.id, subject_of(asset.site_id, asset.id))
    state.anomaly_seen[key] = now
    if key in state.open:
        return []
    method = payload.get("method", "anomaly")
    name = metric_name(str(metric))
    title = f"{asset.name}: {name} anomaly ({method})"
    message = f"{name} anomaly, score {score:.3g} ({severity}, {rule.name})"
    detail = {
        "method": method,
        "metric": metric,
        "anomaly_severity": severity,
        "ts": payload.get("ts"),
        "detail": payload.get("detail"),
    }
    return [Raise(rule.id, asset.site_id, asset.id, title, message, score, detail)]


def anomaly_tick(state: State, rule: RuleView, now: int) -> list[Decision]:
    """Resolve the rule's anomaly alerts that saw no new anomaly for ``clear_after_s``."""
    quiet_ms = float(rule.params["clear_after_s"]) * MS_PER_S
    decisions: list[Decision] = []
    for key in [k for k in state.open if k[0] == rule.id]:
        last = state.anomaly_seen.setdefault(key, now)
        if now - last > quiet_ms:
            decisions.append(Clear(rule.id, key[1]))
    return decisions
