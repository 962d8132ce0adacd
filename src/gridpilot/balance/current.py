"""A site's balance now [kW]: the newest power reading of every power series of the site, set
based (one statement for any number of sites), solved like an interval (docs/site-energy.md).

A reading older than ``max_age_ms`` is stale: its asset is listed but left out of the sums, so
a dead meter never freezes a figure; each term says which share of the assets that ever
reported it are fresh. A term none of whose assets is fresh is unknown and may be derived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import TERMS, FloatArray
from gridpilot.assets.catalogue import POWER_TERMS
from gridpilot.balance.latest_sql import latest_power_sql
from gridpilot.balance.service import Node, combine, node_terms, solve_point
from gridpilot.core.timestamps import iso

#: The metric key of each (role, priority) of ``latest_power_sql``'s rows.
POWER_KEYS: dict[str, list[str]] = {role: list(keys) for role, keys in POWER_TERMS.items()}


#: Age after which a power reading no longer counts as current [ms], unless its asset reports
#: more slowly (``PowerSeries.fresh``): the one default of /current, the fleet and alerts.
DEFAULT_MAX_AGE_MS = 300_000


@dataclass
class _Term:
    fresh_kw: float = 0.0
    fresh: int = 0
    seen: int = 0


@dataclass(frozen=True)
class CurrentBalance:
    """Each term [kW] (None: unknown), its source, the share of its assets that are fresh."""

    site_id: int
    power_kw: dict[str, float | None]
    sources: dict[str, str]
    fresh_share: dict[str, float | None]
    flagged: bool
    newest_ms: int | None
    assets: list[dict[str, Any]] = field(default_factory=list)
    #: Connection points (prosumer asset id, 0: the rest of the site) with assets but no fresh
    #: power reading, left out of the figures unless every point is (as ``site_balances``).
    without_data: tuple[int, ...] = ()
    #: The first instant [ms] at which the same readings give another answer (a fresh reading
    #: turns stale, a reading stamped later than the solve starts to count); None: never.
    valid_until_ms: int | None = None


@dataclass
class PowerSeries:
    """One power series of a site as the balance reads it, with its newest reading (kept up to
    date from ``readings.stored`` by ``balance.cache``)."""

    site_id: int
    node: int
    asset_id: int
    name: str
    role: str
    metric: str
    term_pos: str
    term_neg: str | None
    prio: int
    ts: int | None
    value: float | None
    expected_interval_s: float | None = None

    def fresh(self, now_ms: int, max_age_ms: int) -> bool:
        """Whether the newest reading still counts: not older than ``max_age_ms``, or than two
        of the asset's expected reporting intervals when those are longer (a 15-min meter)."""
        if self.ts is None:
            return False
        return now_ms - self.ts <= self.limit_ms(max_age_ms)

    def limit_ms(self, max_age_ms: int) -> float:
        """The age [ms] up to which the newest reading counts (see ``fresh``)."""
        return max(max_age_ms, 2_000 * (self.expected_interval_s or 0.0))

    def changes_at(self, now_ms: int, max_age_ms: int) -> float | None:
        """When this series' part of an answer solved at ``now_ms`` changes by itself [ms]:
        a reading stamped after ``now_ms`` starts to count, a fresh one turns stale."""
        if self.ts is None:
            return None
        if self.ts > now_ms:
            return float(self.ts)
        if self.fresh(now_ms, max_age_ms):
            return self.ts + self.limit_ms(max_age_ms) + 1
        return None


@dataclass(frozen=True)
class CurrentInputs:
    """Everything the current balance of some sites is solved from."""

    series: list[PowerSeries]
    terms: dict[Node, set[str]]


async def load_current_inputs(
    *, session: AsyncSession, site_ids: Sequence[int], now_ms: int
) -> CurrentInputs:
    """The power series of ``site_ids`` with their newest reading at or before ``now_ms`` and
    their connection points' possible terms: two statements for any number of sites."""
    params = {"site_ids": list(site_ids), "now": now_ms}
    rows = (await session.execute(latest_power_sql(), params)).all()
    series = [
        PowerSeries(
            site_id=int(r.site_id),
            node=int(r.node),
            asset_id=int(r.asset_id),
            name=str(r.name),
            role=str(r.role),
            metric=POWER_KEYS[str(r.role)][int(r.prio)],
            term_pos=str(r.term_pos),
            term_neg=None if r.term_neg is None else str(r.term_neg),
            prio=int(r.prio),
            ts=None if r.ts is None else int(r.ts),
            value=None if r.value is None else float(r.value),
            expected_interval_s=r.expected_interval_s,
        )
        for r in rows
    ]
    return CurrentInputs(series, await node_terms(session, site_ids))


async def current_balances(
    *, session: AsyncSession, site_ids: Sequence[int], now_ms: int, max_age_ms: int
) -> dict[int, CurrentBalance]:
    """The current balance of each site of ``site_ids`` (scope checked by the caller), read
    from the database (``balance.cache`` answers the same from memory)."""
    inputs = await load_current_inputs(session=session, site_ids=site_ids, now_ms=now_ms)
    return solve_current(inputs, site_ids=site_ids, now_ms=now_ms, max_age_ms=max_age_ms)


def solve_current(
    inputs: CurrentInputs, *, site_ids: Sequence[int], now_ms: int, max_age_ms: int
) -> dict[int, CurrentBalance]:
    """The current balance of each site of ``site_ids`` from ``inputs`` (pure)."""
    tally: dict[tuple[Node, str], _Term] = defaultdict(_Term)
    listed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    newest: dict[int, int] = {}
    until: dict[int, float] = {}
    by_asset: dict[int, list[PowerSeries]] = defaultdict(list)
    for row in sorted(inputs.series, key=lambda r: (r.asset_id, r.prio)):
        by_asset[row.asset_id].append(row)
        change = row.changes_at(now_ms, max_age_ms)
        if change is not None:
            until[row.site_id] = min(until.get(row.site_id, change), change)
    for series in by_asset.values():
        reported = [r for r in series if r.ts is not None and r.ts <= now_ms]
        shown = reported[0] if reported else series[0]
        listed[shown.site_id].append(_listing(shown, now_ms, max_age_ms))
        claimed: set[str] = set()  # one series per term: the first in the catalogue's list
        for row in reported:
            assert row.ts is not None and row.value is not None
            fresh = row.fresh(now_ms, max_age_ms)
            for term in {row.term_pos, row.term_neg} - {None} - claimed:
                assert term is not None
                claimed.add(term)
                entry = tally[((row.site_id, row.node), term)]
                entry.seen += 1
                if fresh:
                    entry.fresh += 1
                    entry.fresh_kw += _share(term, row.term_pos, row.value)
            if fresh:
                newest[row.site_id] = max(newest.get(row.site_id, row.ts), row.ts)
    nodes: dict[int, list[tuple[Node, set[str]]]] = defaultdict(list)
    for node, possible in inputs.terms.items():
        nodes[node[0]].append((node, possible))
    return {
        site_id: replace(
            _site(site_id, nodes[site_id], tally, listed[site_id], newest.get(site_id)),
            valid_until_ms=int(until[site_id]) if site_id in until else None,
        )
        for site_id in site_ids
    }


def _listing(row: PowerSeries, now_ms: int, max_age_ms: int) -> dict[str, Any]:
    """An asset as ``/current`` lists it: its power series (the first that reported)."""
    value = row.value if row.ts is not None and row.ts <= now_ms else None
    ts = row.ts if value is not None else None
    counted = row.term_pos if value is None or value >= 0 or row.term_neg is None else row.term_neg
    return {
        "asset_id": row.asset_id,
        "name": row.name,
        "role": row.role,
        "counted_as": counted,
        "power_kw": value,
        "ts": None if ts is None else iso(ts),
        "stale": ts is None or not row.fresh(now_ms, max_age_ms),
    }


def _share(term: str, positive: str, value: float) -> float:
    """What a power reading gives ``term`` [kW]: its positive part to the positive term, its
    negative part to the negative one (a consume-only meter's negative noise counts 0)."""
    return max(value, 0.0) if term == positive else max(-value, 0.0)


def _site(
    site_id: int,
    nodes: list[tuple[Node, set[str]]],
    tally: dict[tuple[Node, str], _Term],
    assets: list[dict[str, Any]],
    newest_ms: int | None,
) -> CurrentBalance:
    """The balance of one site from its connection points' tallies: the points with a fresh
    reading and those without assets, or, when no point with assets has a fresh reading, every
    point (unknown, not 0: a prosumer-only site's empty rest of the site alone would read 0 kW,
    as ``site_balances`` counts them)."""
    parts, empty, silent = [], [], []
    fresh_share: dict[str, list[int]] = {t: [0, 0] for t in TERMS}
    for node, possible in nodes:
        energy: dict[str, FloatArray] = {}  # a term none of whose series ever reported: none
        fresh = False
        for term in TERMS:
            entry = tally.get((node, term))
            if entry is None:
                continue
            fresh_share[term][0] += entry.fresh
            fresh_share[term][1] += entry.seen
            fresh = fresh or entry.fresh > 0
            energy[term] = np.array([entry.fresh_kw if entry.fresh else np.nan])
        solved = solve_point(possible, energy, 1)  # the rule of the interval balances
        if not possible:
            empty.append(solved)
        elif fresh:
            parts.append(solved)
        else:
            silent.append((node[1], solved))
    if not parts:  # nothing fresh anywhere: the site is unknown, not 0
        parts = [solved for _, solved in silent]
    total = combine(parts + empty, 1)
    return CurrentBalance(
        site_id=site_id,
        power_kw={
            t: None if np.isnan(total.values[t][0]) else float(total.values[t][0]) for t in TERMS
        },
        sources={t: str(total.sources[t][0]) for t in TERMS},
        fresh_share={t: (f / n if n else None) for t, (f, n) in fresh_share.items()},
        flagged=bool(total.flagged[0]),
        newest_ms=newest_ms,
        assets=assets,
        without_data=tuple(sorted(point for point, _ in silent)),
    )
