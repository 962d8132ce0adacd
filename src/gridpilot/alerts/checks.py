"""Rule conditions over the evaluator's in-memory view (no database, no I/O).

``Watch`` is the evaluator's ``views.State`` (enabled rules, assets and sites reloaded by the
runtime, open alerts, pending times, recent values, last-seen times, reported offline status).
Its ``on_*`` methods turn one event into decisions, ``Raise`` or ``Clear``, by running the
check of every enabled rule whose kind (``alerts.kinds.KINDS``) reacts to that event and whose
scope covers the asset or site.

Readings come from ``readings.stored``, which carries the newest value per asset and metric of
each stored batch: thresholds and rates are evaluated at batch granularity (a value inside a
batch that is not the newest is not seen), which is what a monitoring rule needs. Site checks
(contract demand, balance check) get the current balance of the sites a batch touched
(``on_balance``), read by the evaluator from the balance cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gridpilot.alerts.kinds import KINDS, RuleKind
from gridpilot.alerts.kinds.metric import breached, cleared, rate_per_min
from gridpilot.alerts.views import (
    AssetView,
    Clear,
    Decision,
    Key,
    Raise,
    RuleView,
    SiteNow,
    SiteView,
    State,
)

__all__ = [
    "AssetView",
    "Clear",
    "Decision",
    "Key",
    "Raise",
    "RuleView",
    "SiteNow",
    "SiteView",
    "Watch",
    "breached",
    "cleared",
    "rate_per_min",
]


@dataclass
class Watch(State):
    """The evaluator's state with one entry point per event."""

    def _with(self, hook: str) -> Iterable[tuple[RuleView, Any]]:
        """(rule, check) of every enabled rule whose kind has ``hook``."""
        for rule in self.rules:
            kind: RuleKind | None = KINDS.get(rule.kind)
            check = getattr(kind, hook, None) if kind is not None else None
            if check is not None:
                yield rule, check

    def on_readings(self, payload: dict[str, Any], now: int) -> list[Decision]:
        decisions: list[Decision] = []
        for entry in payload.get("assets") or []:
            asset = self.assets.get(entry.get("asset_id"))
            latest: dict[str, dict[str, Any]] = entry.get("latest") or {}
            if asset is None or not latest:
                continue
            newest = max(int(p["ts"]) for p in latest.values())
            self.last_seen[asset.id] = max(self.last_seen.get(asset.id, newest), newest)
            self.arrival_lag_ms[asset.id] = now - self.last_seen[asset.id]
            for rule, check in self._with("on_reading"):
                if rule.covers(asset):
                    decisions += check(self, rule, asset, latest, now)
        return decisions

    def balance_sites(self, payload: dict[str, Any]) -> list[int]:
        """The sites touched by a ``readings.stored`` batch whose current balance a rule
        checks (``on_balance``): those the evaluator reads from the balance cache."""
        touched = set()
        for entry in payload.get("assets") or []:
            asset = self.assets.get(entry.get("asset_id"))
            if asset is not None and asset.site_id in self.sites:
                touched.add(asset.site_id)
        wanted = set()
        for rule in self.rules:
            kind = KINDS.get(rule.kind)
            if kind is None or kind.on_balance is None:
                continue
            wanted |= {
                s for s in touched if rule.covers_site(s) and kind.wants_balance(self.sites[s])
            }
        return sorted(wanted)

    def on_balance(self, balances: dict[int, SiteNow]) -> list[Decision]:
        """Site checks on the current balances of some sites (``balance_sites``)."""
        decisions: list[Decision] = []
        for site_id, now in sorted(balances.items()):
            site = self.sites.get(site_id)
            if site is None:
                continue
            for rule, check in self._with("on_balance"):
                kind = KINDS[rule.kind]
                if rule.covers_site(site_id) and kind.wants_balance(site):
                    decisions += check(self, rule, site, now)
        return decisions

    def on_status(self, payload: dict[str, Any], now: int) -> list[Decision]:
        asset = self.assets.get(payload.get("asset_id"))  # type: ignore[arg-type]
        if asset is None:
            return []
        reason, offline = payload.get("reason"), payload.get("status") == "offline"
        first_seen_old = payload.get("previous") is None and reason == "stale"
        if offline and not first_seen_old and reason != "stopped":
            self.offline_reported.add(asset.id)
        else:
            self.offline_reported.discard(asset.id)
        if offline and reason == "stopped":  # stopped on purpose: not expected to report
            self.arrival_lag_ms.pop(asset.id, None)
        elif offline and payload.get("previous") == "online":  # it was live, and went quiet
            self.arrival_lag_ms[asset.id] = 0
        seen = payload.get("last_seen_ms")
        if isinstance(seen, int) and payload.get("status") == "online":
            self.last_seen[asset.id] = max(self.last_seen.get(asset.id, seen), seen)
        decisions: list[Decision] = []
        for rule, check in self._with("on_status"):
            if rule.covers(asset):
                decisions += check(self, rule, asset, now)
        return decisions

    def on_tick(self, now: int) -> list[Decision]:
        """Time-based checks: stale data, and anomaly alerts past their quiet period."""
        decisions: list[Decision] = []
        for rule, check in self._with("on_tick"):
            decisions += check(self, rule, now)
        return decisions

    def on_anomaly(self, payload: dict[str, Any], now: int) -> list[Decision]:
        asset = self.assets.get(payload.get("asset_id"))  # type: ignore[arg-type]
        if asset is None:
            return []
        decisions: list[Decision] = []
        for rule, check in self._with("on_anomaly"):
            if rule.covers(asset):
                decisions += check(self, rule, asset, payload, now)
        return decisions

    def on_forecast(self, payload: dict[str, Any]) -> list[Decision]:
        site = self.sites.get(payload.get("site_id"))  # type: ignore[arg-type]
        if site is None:
            return []
        raw_asset = payload.get("asset_id")
        asset = self.assets.get(raw_asset) if isinstance(raw_asset, int) else None
        asset_id = asset.id if asset is not None and asset.site_id == site.id else None
        decisions: list[Decision] = []
        for rule, check in self._with("on_forecast"):
            if rule.covers_site(site.id):
                decisions += check(self, rule, site, asset_id, payload)
        return decisions
