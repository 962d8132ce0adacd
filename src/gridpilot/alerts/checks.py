"""Rule conditions over the evaluator's in-memory view (no database, no I/O).

``Watch`` keeps what evaluation needs: enabled rules, assets and sites (reloaded by the
runtime), which (rule, subject) pairs have an open alert, threshold pending-since times, recent
values for rate rules, last-seen times and device-reported offline status, each asset's latest
power. Its ``on_*`` methods turn one event into decisions: ``Raise`` or ``Clear``.

Readings come from ``readings.stored``, which carries the newest value per asset and metric of
each stored batch: thresholds and rates are evaluated at batch granularity (a value inside a
batch that is not the newest is not seen), which is what a monitoring rule needs.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gridpilot.alerts.lifecycle import Raise, subject_of
from gridpilot.alerts.schemas import SEVERITY_RANK
from gridpilot.assets.catalogue import LOAD_ROLES
from gridpilot.core.timestamps import MS_PER_MIN, MS_PER_S, iso

Key = tuple[int, str]  # (rule id, subject)
#: Power readings older than this (vs the site's newest) are left out of the site demand.
DEMAND_FRESH_MS = 15 * MS_PER_MIN
_MAX_HISTORY = 2000


@dataclass(frozen=True)
class AssetView:
    id: int
    site_id: int
    name: str
    kind: str
    role: str
    expected_interval_s: float | None


@dataclass(frozen=True)
class SiteView:
    id: int
    name: str
    contract_demand_kw: float | None


@dataclass(frozen=True)
class RuleView:
    id: int
    name: str
    kind: str
    metric: str | None
    site_id: int | None
    asset_id: int | None
    asset_kind: str | None
    params: dict[str, Any]

    def covers(self, asset: AssetView) -> bool:
        if self.asset_id is not None:
            return self.asset_id == asset.id
        if self.site_id is not None and self.site_id != asset.site_id:
            return False
        return self.asset_kind is None or self.asset_kind == asset.kind

    def covers_site(self, site_id: int) -> bool:
        return self.site_id is None or self.site_id == site_id


@dataclass(frozen=True)
class Clear:
    rule_id: int
    subject: str
    value: float | None = None


Decision = Raise | Clear


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


@dataclass
class Watch:
    rules: list[RuleView] = field(default_factory=list)
    assets: dict[int, AssetView] = field(default_factory=dict)
    sites: dict[int, SiteView] = field(default_factory=dict)
    open: set[Key] = field(default_factory=set)
    pending: dict[Key, int] = field(default_factory=dict)
    history: dict[tuple[int, str], deque[tuple[int, float]]] = field(default_factory=dict)
    last_seen: dict[int, int] = field(default_factory=dict)
    offline_reported: set[int] = field(default_factory=set)
    power: dict[int, tuple[int, float]] = field(default_factory=dict)
    anomaly_seen: dict[Key, int] = field(default_factory=dict)
    #: Reporting interval [s] of assets that state none (GRIDPILOT_STATUS_DEFAULT_INTERVAL_S).
    default_interval_s: float = 300.0

    def _step(self, key: Key, ts: int, breach: bool, clear: bool, duration_s: float) -> str | None:
        """'raise', 'clear' or None for one observation of a condition with a duration."""
        if key in self.open:
            self.pending.pop(key, None)
            return "clear" if clear else None
        if not breach:
            self.pending.pop(key, None)
            return None
        since = self.pending.setdefault(key, ts)
        if ts - since >= duration_s * MS_PER_S:
            self.pending.pop(key, None)
            return "raise"
        return None

    # --- readings ------------------------------------------------------------------------------

    def on_readings(self, payload: dict[str, Any], now: int) -> list[Decision]:
        decisions: list[Decision] = []
        demand_sites: set[int] = set()
        for entry in payload.get("assets") or []:
            asset = self.assets.get(entry.get("asset_id"))
            latest: dict[str, dict[str, Any]] = entry.get("latest") or {}
            if asset is None or not latest:
                continue
            newest = max(int(p["ts"]) for p in latest.values())
            self.last_seen[asset.id] = max(self.last_seen.get(asset.id, newest), newest)
            if "power_kw" in latest:
                point = latest["power_kw"]
                self.power[asset.id] = (int(point["ts"]), float(point["value"]))
                demand_sites.add(asset.site_id)
            for rule in self.rules:
                if rule.covers(asset):
                    decisions += self._reading_rule(rule, asset, latest, now)
        for site_id in demand_sites:
            decisions += self._demand(site_id)
        return decisions

    def _reading_rule(
        self, rule: RuleView, asset: AssetView, latest: dict[str, dict[str, Any]], now: int
    ) -> list[Decision]:
        key = (rule.id, subject_of(asset.site_id, asset.id))
        p = rule.params
        if rule.kind == "stale":
            if key in self.open and not self._stale_now(rule, asset, now):
                return [Clear(rule.id, key[1])]
            return []
        if rule.metric not in latest or rule.kind not in ("threshold", "rate_of_change"):
            return []
        ts, value = int(latest[rule.metric]["ts"]), float(latest[rule.metric]["value"])
        if rule.kind == "threshold":
            threshold = float(p["threshold"])
            action = self._step(
                key,
                ts,
                breached(p["operator"], value, threshold),
                cleared(p["operator"], value, threshold, float(p["hysteresis"])),
                float(p["duration_s"]),
            )
            title = f"{asset.name}: {rule.metric} {p['operator']} {threshold:g}"
            message = f"{rule.metric} = {value:g} is {p['operator']} {threshold:g} ({rule.name})"
            detail = {"threshold": threshold, "operator": p["operator"], "ts": ts}
        else:
            points = self.history.setdefault((asset.id, rule.metric), deque(maxlen=_MAX_HISTORY))
            if not points or ts > points[-1][0]:
                points.append((ts, value))
            window_ms = round(float(p["window_s"]) * MS_PER_S)
            while points and ts - points[0][0] > window_ms:
                points.popleft()
            rate = rate_per_min(points, window_ms)
            if rate is None:
                return []
            limit = float(p["max_rate_per_min"])
            fast = {"rise": rate > limit, "fall": -rate > limit}.get(
                p["direction"], abs(rate) > limit
            )
            action = self._step(key, ts, fast, not fast, 0.0)
            title = f"{asset.name}: {rule.metric} changing fast"
            message = f"{rule.metric} changes {rate:+.3g}/min (limit {limit:g}/min, {rule.name})"
            detail = {"rate_per_min": rate, "max_rate_per_min": limit, "ts": ts}
            value = rate
        if action == "raise":
            return [Raise(rule.id, asset.site_id, asset.id, title, message, value, detail)]
        if action == "clear":
            return [Clear(rule.id, key[1], value)]
        return []

    def _demand(self, site_id: int) -> list[Decision]:
        """Site demand = sum of the site's meters' latest power_kw (else its load assets')."""
        site = self.sites.get(site_id)
        rules = [r for r in self.rules if r.kind == "contract_demand" and r.covers_site(site_id)]
        if site is None or not site.contract_demand_kw or not rules:
            return []
        assets = [a for a in self.assets.values() if a.site_id == site_id and a.id in self.power]
        group = [a for a in assets if a.kind == "meter"] or [
            a for a in assets if a.role in LOAD_ROLES
        ]
        if not group:
            return []
        newest = max(self.power[a.id][0] for a in group)
        demand = sum(
            self.power[a.id][1] for a in group if newest - self.power[a.id][0] <= DEMAND_FRESH_MS
        )
        contract = site.contract_demand_kw
        decisions: list[Decision] = []
        for rule in rules:
            p = rule.params
            limit = contract * (1 + float(p["margin_pct"]) / 100)
            key = (rule.id, subject_of(site_id, None))
            action = self._step(
                key,
                newest,
                demand > limit,
                demand <= limit - contract * float(p["hysteresis_pct"]) / 100,
                float(p["duration_s"]),
            )
            if action == "raise":
                title = f"{site.name}: demand above contract ({contract:g} kW)"
                message = f"Site demand {demand:.1f} kW exceeds {limit:.1f} kW ({rule.name})"
                detail = {"demand_kw": demand, "contract_demand_kw": contract, "ts": newest}
                decisions.append(Raise(rule.id, site_id, None, title, message, demand, detail))
            elif action == "clear":
                decisions.append(Clear(rule.id, key[1], demand))
        return decisions

    # --- stale data and device status ----------------------------------------------------------

    def _limit_ms(self, rule: RuleView, asset: AssetView) -> float:
        max_age = rule.params.get("max_age_s")
        if max_age is None:
            max_age = float(rule.params["factor"]) * (
                asset.expected_interval_s or self.default_interval_s
            )
        return float(max_age) * MS_PER_S

    def _stale_now(self, rule: RuleView, asset: AssetView, now: int) -> bool:
        if rule.params.get("use_status") and asset.id in self.offline_reported:
            return True
        seen = self.last_seen.get(asset.id)
        return seen is not None and now - seen > self._limit_ms(rule, asset)

    def _stale_check(self, rule: RuleView, asset: AssetView, now: int) -> list[Decision]:
        key = (rule.id, subject_of(asset.site_id, asset.id))
        if not self._stale_now(rule, asset, now):
            return [Clear(rule.id, key[1])] if key in self.open else []
        if key in self.open:
            return []
        seen = self.last_seen.get(asset.id)
        reported = bool(rule.params.get("use_status")) and asset.id in self.offline_reported
        age_s = (now - seen) / MS_PER_S if seen is not None else None
        if reported:
            message = f"{asset.name} reported offline"
        else:
            message = f"No data from {asset.name} for {age_s:.0f} s"
        message += f" (limit {self._limit_ms(rule, asset) / MS_PER_S:g} s, {rule.name})"
        detail = {"last_seen": iso(seen) if seen is not None else None, "reported": reported}
        return [
            Raise(rule.id, asset.site_id, asset.id, f"{asset.name} offline", message, age_s, detail)
        ]

    def on_status(self, payload: dict[str, Any], now: int) -> list[Decision]:
        asset = self.assets.get(payload.get("asset_id"))  # type: ignore[arg-type]
        if asset is None:
            return []
        if payload.get("status") == "offline":
            self.offline_reported.add(asset.id)
        else:
            self.offline_reported.discard(asset.id)
        seen = payload.get("last_seen_ms")
        if isinstance(seen, int) and payload.get("status") == "online":
            self.last_seen[asset.id] = max(self.last_seen.get(asset.id, seen), seen)
        decisions: list[Decision] = []
        for rule in self.rules:
            if rule.kind == "stale" and rule.covers(asset):
                decisions += self._stale_check(rule, asset, now)
        return decisions

    def on_tick(self, now: int) -> list[Decision]:
        """Time-based checks: stale data, and anomaly alerts past their quiet period."""
        decisions: list[Decision] = []
        for rule in self.rules:
            if rule.kind == "stale":
                for asset in self.assets.values():
                    if rule.covers(asset):
                        decisions += self._stale_check(rule, asset, now)
            elif rule.kind == "anomaly":
                quiet_ms = float(rule.params["clear_after_s"]) * MS_PER_S
                for key in [k for k in self.open if k[0] == rule.id]:
                    last = self.anomaly_seen.setdefault(key, now)
                    if now - last > quiet_ms:
                        decisions.append(Clear(rule.id, key[1]))
        return decisions

    # --- analytics events ----------------------------------------------------------------------

    def on_anomaly(self, payload: dict[str, Any], now: int) -> list[Decision]:
        asset = self.assets.get(payload.get("asset_id"))  # type: ignore[arg-type]
        if asset is None:
            return []
        metric = payload.get("metric")
        score = float(payload.get("score") or 0.0)
        severity = str(payload.get("severity", "warning"))
        decisions: list[Decision] = []
        for rule in self.rules:
            p = rule.params
            if rule.kind != "anomaly" or not rule.covers(asset):
                continue
            if rule.metric is not None and rule.metric != metric:
                continue
            if score < float(p["min_score"]):
                continue
            if SEVERITY_RANK.get(severity, 1) < SEVERITY_RANK[p["min_severity"]]:
                continue
            key = (rule.id, subject_of(asset.site_id, asset.id))
            self.anomaly_seen[key] = now
            if key not in self.open:
                method = payload.get("method", "anomaly")
                title = f"{asset.name}: {metric} anomaly ({method})"
                message = f"{metric} anomaly, score {score:.3g} ({severity}, {rule.name})"
                detail = {
                    "method": method,
                    "metric": metric,
                    "anomaly_severity": severity,
                    "ts": payload.get("ts"),
                    "detail": payload.get("detail"),
                }
                decisions.append(
                    Raise(rule.id, asset.site_id, asset.id, title, message, score, detail)
                )
        return decisions

    def on_forecast(self, payload: dict[str, Any]) -> list[Decision]:
        site = self.sites.get(payload.get("site_id"))  # type: ignore[arg-type]
        peak = payload.get("peak") or {}
        if site is None or not site.contract_demand_kw:
            return []
        raw_asset = payload.get("asset_id")
        asset = self.assets.get(raw_asset) if isinstance(raw_asset, int) else None
        asset_id = asset.id if asset is not None and asset.site_id == site.id else None
        subject = subject_of(site.id, asset_id)
        decisions: list[Decision] = []
        for rule in self.rules:
            if rule.kind != "forecast_contract" or not rule.covers_site(site.id):
                continue
            if rule.asset_id is not None and rule.asset_id != asset_id:
                continue
            value = peak.get(rule.params["band"])
            if not isinstance(value, int | float):
                continue
            limit = site.contract_demand_kw * (1 + float(rule.params["margin_pct"]) / 100)
            key = (rule.id, subject)
            if value > limit and key not in self.open:
                at = iso(int(peak["ts"])) if isinstance(peak.get("ts"), int) else "?"
                title = f"{site.name}: forecast peak above contract demand"
                message = (
                    f"Forecast {rule.params['band']} peak {value:.1f} kW at {at} exceeds "
                    f"{limit:.1f} kW ({rule.name})"
                )
                detail = {"peak": peak, "issued_ms": payload.get("issued_ms"), "limit_kw": limit}
                decisions.append(Raise(rule.id, site.id, asset_id, title, message, value, detail))
            elif value <= limit and key in self.open:
                decisions.append(Clear(rule.id, subject, float(value)))
        return decisions
