"""A site's balance now [kW]: the newest power reading of every power series of the site, set
based (one statement for any number of sites), solved like an interval (docs/site-energy.md).

A reading older than ``max_age_ms`` is stale: its asset is listed but left out of the sums, so
a dead meter never freezes a figure; each term says which share of the assets that ever
reported it are fresh. A term none of whose assets is fresh is unknown and may be derived.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import TERMS, FloatArray, solve_balance
from gridpilot.balance.queries import latest_power_sql
from gridpilot.balance.service import EXPORT_SOURCES, Node, combine, node_terms
from gridpilot.core.timestamps import iso


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


async def current_balances(
    *, session: AsyncSession, site_ids: Sequence[int], now_ms: int, max_age_ms: int
) -> dict[int, CurrentBalance]:
    """The current balance of each site of ``site_ids`` (scope checked by the caller)."""
    params = {"site_ids": list(site_ids), "now": now_ms}
    rows = (await session.execute(latest_power_sql(), params)).all()
    terms = await node_terms(session, site_ids)
    tally: dict[tuple[Node, str], _Term] = defaultdict(_Term)
    listed: dict[int, list[dict[str, Any]]] = defaultdict(list)
    newest: dict[int, int] = {}
    by_asset: dict[int, list[Any]] = defaultdict(list)
    for row in rows:  # ordered by asset, then by the metric's place in the catalogue
        by_asset[int(row.asset_id)].append(row)
    for series in by_asset.values():
        reported = [r for r in series if r.ts is not None]
        shown = reported[0] if reported else series[0]
        site_id = int(shown.site_id)
        listed[site_id].append(_listing(shown, now_ms, max_age_ms))
        claimed: set[str] = set()  # one series per term: the first in the catalogue's list
        for row in reported:
            fresh = now_ms - int(row.ts) <= max_age_ms
            for term in {row.term_pos, row.term_neg} - {None} - claimed:
                claimed.add(term)
                entry = tally[((site_id, int(row.node)), term)]
                entry.seen += 1
                if fresh:
                    entry.fresh += 1
                    entry.fresh_kw += _share(term, row.term_pos, float(row.value))
            if fresh:
                newest[site_id] = max(newest.get(site_id, int(row.ts)), int(row.ts))
    return {
        site_id: _site(site_id, terms, tally, listed[site_id], newest.get(site_id))
        for site_id in site_ids
    }


def _listing(row: Any, now_ms: int, max_age_ms: int) -> dict[str, Any]:
    """An asset as ``/current`` lists it: its power series (the first that reported)."""
    value = row.value
    counted = row.term_pos if value is None or value >= 0 or row.term_neg is None else row.term_neg
    return {
        "asset_id": row.asset_id,
        "name": row.name,
        "role": row.role,
        "counted_as": counted,
        "power_kw": value,
        "ts": None if row.ts is None else iso(int(row.ts)),
        "stale": row.ts is None or now_ms - int(row.ts) > max_age_ms,
    }


def _share(term: str, positive: str, value: float) -> float:
    """What a power reading gives ``term`` [kW]: its positive part to the positive term, its
    negative part to the negative one (a consume-only meter's negative noise counts 0)."""
    return max(value, 0.0) if term == positive else max(-value, 0.0)


def _site(
    site_id: int,
    terms: dict[Node, set[str]],
    tally: dict[tuple[Node, str], _Term],
    assets: list[dict[str, Any]],
    newest_ms: int | None,
) -> CurrentBalance:
    parts = []
    fresh_share: dict[str, list[int]] = {t: [0, 0] for t in TERMS}
    for node, possible in terms.items():
        if node[0] != site_id:
            continue
        measured: dict[str, FloatArray | None] = {}
        for term in TERMS:
            entry = tally.get((node, term))
            if entry is not None:
                fresh_share[term][0] += entry.fresh
                fresh_share[term][1] += entry.seen
            no_export = term == "export" and entry is None and not possible & EXPORT_SOURCES
            if term not in possible or no_export:
                measured[term] = None
            elif entry is None or entry.fresh == 0:
                measured[term] = np.array([np.nan])
            else:
                measured[term] = np.array([entry.fresh_kw])
        parts.append(solve_balance(measured, intervals=1))
    total = combine(parts, 1)
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
    )
