"""What rule checks see and decide, without I/O: views of rules, assets, sites and a site's
current balance; the decisions ``Raise`` and ``Clear``; the evaluator's in-memory ``State``.

The checks of each rule kind (``alerts/kinds/``) read and update a ``State``; ``checks.Watch``
is the ``State`` that dispatches events to them.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import Field

from gridpilot.assets.service import AssetSummary
from gridpilot.core.timestamps import MS_PER_S

SEVERITY_RANK: dict[str, int] = {"info": 0, "warning": 1, "critical": 2}
#: The terms of a site's balance (``analytics.site_balance.TERMS``).
BALANCE_TERMS = ("import", "export", "generation", "discharge", "charge", "consumption")

Key = tuple[int, str]  # (rule id, subject)
Seconds = Annotated[float, Field(ge=0, le=366 * 86400, description="seconds")]


def subject_of(site_id: int, asset_id: int | None) -> str:
    """The de-duplication key of an alert's target: ``asset:<id>`` or ``site:<id>``."""
    return f"asset:{asset_id}" if asset_id is not None else f"site:{site_id}"


@dataclass
class Raise:
    """What an evaluator found: the condition of ``rule`` holds for a site or an asset."""

    rule_id: int
    site_id: int
    asset_id: int | None
    title: str
    message: str
    value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def subject(self) -> str:
        return subject_of(self.site_id, self.asset_id)


@dataclass(frozen=True)
class Clear:
    rule_id: int
    subject: str
    value: float | None = None


Decision = Raise | Clear


#: An asset as rule evaluation sees it: the assets domain's summary, not a copy of it.
AssetView = AssetSummary


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
    #: A group rule: the group's members when the rules were loaded (None: no group).
    members: frozenset[int] | None = None

    def covers(self, asset: AssetView) -> bool:
        if self.members is not None and asset.id not in self.members:
            return False
        if self.asset_id is not None:
            return self.asset_id == asset.id
        if self.site_id is not None and self.site_id != asset.site_id:
            return False
        return self.asset_kind is None or self.asset_kind == asset.kind

    def covers_site(self, site_id: int) -> bool:
        return self.site_id is None or self.site_id == site_id


@dataclass(frozen=True)
class SiteNow:
    """A site's current balance as the checks see it (``balance.current.CurrentBalance``):
    each term [kW] (None: unknown), whether the meters contradict the identity, and the time
    of the newest fresh reading [epoch ms]."""

    site_id: int
    power_kw: dict[str, float | None]
    flagged: bool = False
    newest_ms: int | None = None

    @property
    def complete(self) -> bool:
        return all(self.power_kw.get(t) is not None for t in BALANCE_TERMS)

    @property
    def residual_kw(self) -> float | None:
        """``import - export + generation + discharge - charge - consumption`` [kW]; None
        unless every term is known (0 when one was derived from the others)."""
        if not self.complete:
            return None
        p = {t: float(self.power_kw[t] or 0.0) for t in BALANCE_TERMS}
        inflow = p["import"] + p["generation"] + p["discharge"]
        return inflow - p["export"] - p["charge"] - p["consumption"]


@dataclass
class State:
    """The evaluator's memory: enabled rules, assets and sites (reloaded by the runtime), the
    open (rule, subject) pairs, pending-since times of conditions with a duration, recent
    values of rate rules, last-seen times and device-reported offline status."""

    rules: list[RuleView] = field(default_factory=list)
    assets: dict[int, AssetView] = field(default_factory=dict)
    sites: dict[int, SiteView] = field(default_factory=dict)
    open: set[Key] = field(default_factory=set)
    pending: dict[Key, int] = field(default_factory=dict)
    clearing: dict[Key, int] = field(default_factory=dict)
    history: dict[tuple[int, str], deque[tuple[int, float]]] = field(default_factory=dict)
    last_seen: dict[int, int] = field(default_factory=dict)
    offline_reported: set[int] = field(default_factory=set)
    anomaly_seen: dict[Key, int] = field(default_factory=dict)
    #: Reporting interval [s] of assets that state none (GRIDPILOT_STATUS_DEFAULT_INTERVAL_S).
    default_interval_s: float = 300.0
    #: Shortest ``factor`` x interval staleness limit [s] (GRIDPILOT_STATUS_MIN_STALE_S).
    min_stale_s: float = 0.0
    #: How old each asset's newest reading already was when its last batch arrived [ms]: a
    #: backfill or an import writes data that is stale on arrival. Absent: no data arrived
    #: since this process started, or its source was stopped on purpose (``stopped``).
    arrival_lag_ms: dict[int, int] = field(default_factory=dict)

    def step(
        self,
        key: Key,
        ts: int,
        breach: bool,
        clear: bool,
        duration_s: float,
        clear_after_s: float = 0.0,
    ) -> str | None:
        """'raise', 'clear' or None for one observation at ``ts`` [epoch ms] of a condition
        that must hold ``duration_s`` to raise and be gone ``clear_after_s`` to clear."""
        if key in self.open:
            self.pending.pop(key, None)
            if not clear:
                self.clearing.pop(key, None)
                return None
            since = self.clearing.setdefault(key, ts)
            if ts - since >= clear_after_s * MS_PER_S:
                self.clearing.pop(key, None)
                return "clear"
            return None
        self.clearing.pop(key, None)
        if not breach:
            self.pending.pop(key, None)
            return None
        since = self.pending.setdefault(key, ts)
        if ts - since >= duration_s * MS_PER_S:
            self.pending.pop(key, None)
            return "raise"
        return None
