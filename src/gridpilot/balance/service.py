"""Site energy balances from the database: one statement for all the sites asked for, then the
pure solver (``analytics.site_balance``) per connection point, summed per site.

A connection point is a prosumer asset, or the rest of the site. Its import and export are
unknown unless metered (never absent once it has an asset), and so is its consumption once the
exchange is metered; another term is *absent* when none of its assets has a role feeding it, and
*measured* in an interval when every asset that reported it at some time in the period reported
it in that interval; otherwise it is unknown there and may be derived (see docs/site-energy.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import (
    TERMS,
    Balance,
    FloatArray,
    Source,
    solve_balance,
)
from gridpilot.assets.catalogue import ENERGY_TERMS, POWER_TERMS
from gridpilot.assets.models import Asset
from gridpilot.balance.queries import balance_sql
from gridpilot.core.errors import ValidationFailed
from gridpilot.telemetry.rollups import STEPS_MS, floor_to

#: The rollup level (and interval) the balance is solved on, by the length of the period.
FINE_STEP_MS = STEPS_MS["15m"]
COARSE_STEP_MS = STEPS_MS["1h"]
FINE_UP_TO_MS = 7 * 86_400_000
MAX_PERIOD_MS = 400 * 86_400_000

#: Terms without which a connection point cannot export unless a meter says it does.
EXPORT_SOURCES = frozenset({"generation", "discharge"})

Node = tuple[int, int]  # (site id, asset id of a prosumer or 0 for the rest of the site)


@dataclass(frozen=True)
class SiteBalance:
    """One site's balance on intervals of ``step_ms`` starting at ``start_ms``."""

    site_id: int
    start_ms: int
    step_ms: int
    balance: Balance
    connection_points: int


def balance_step(start_ms: int, end_ms: int) -> int:
    """The interval [ms] a balance of ``[start_ms, end_ms)`` is solved on."""
    return FINE_STEP_MS if end_ms - start_ms <= FINE_UP_TO_MS else COARSE_STEP_MS


def _terms_of(role: str) -> set[str]:
    terms = set(ENERGY_TERMS.get(role, {}).values())
    for positive, negative in POWER_TERMS.get(role, {}).values():
        terms.add(positive)
        if negative:
            terms.add(negative)
    return terms


async def site_balances(
    *, session: AsyncSession, site_ids: Sequence[int], start_ms: int, end_ms: int
) -> dict[int, SiteBalance]:
    """The balance of each site of ``site_ids`` over ``[start_ms, end_ms)`` (scope checked by
    the caller); the period is widened to whole intervals."""
    if end_ms <= start_ms or end_ms - start_ms > MAX_PERIOD_MS:
        raise ValidationFailed("a balance needs a period of more than 0 and at most 400 days")
    step = balance_step(start_ms, end_ms)
    lo, hi = floor_to(start_ms, step), -floor_to(-end_ms, step)
    n = (hi - lo) // step
    roles = await node_terms(session, site_ids)
    params = {"site_ids": list(site_ids), "lo": lo, "hi": hi, "level": step}
    rows = (await session.execute(balance_sql(step), params)).all()
    measured = _measured(rows, roles, lo, step, n)
    result: dict[int, SiteBalance] = {}
    for site_id in site_ids:
        nodes = [node for node in roles if node[0] == site_id]
        parts = [solve_balance(measured[node], intervals=n) for node in nodes]
        total = combine(parts, n)
        result[site_id] = SiteBalance(site_id, lo, step, total, len(nodes))
    return result


async def node_terms(session: AsyncSession, site_ids: Sequence[int]) -> dict[Node, set[str]]:
    """The terms each connection point can have, from its assets' roles."""
    rows = await session.execute(
        select(Asset.id, Asset.site_id, Asset.role).where(Asset.site_id.in_(list(site_ids)))
    )
    nodes: dict[Node, set[str]] = defaultdict(set)
    for site_id in site_ids:
        nodes[(site_id, 0)]  # every site has its own point, even with prosumers only
    for asset_id, site_id, role in rows:
        node = (site_id, asset_id if role == "prosumer" else 0)
        # A point with any asset meets the grid: unmetered, its exchange is unknown, not 0. A
        # metered exchange implies loads behind it: consumption is then unknown unless metered.
        nodes[node] |= _terms_of(role) | {"import", "export"}
        if role in ("grid_connection", "prosumer"):
            nodes[node].add("consumption")
    return dict(nodes)


def _measured(
    rows: Iterable[tuple[int, int, str, int, float, int]],
    roles: dict[Node, set[str]],
    lo: int,
    step: int,
    n: int,
) -> dict[Node, dict[str, FloatArray | None]]:
    """Per connection point, each possible term's energy per interval (NaN where not every
    reporting asset reported) and None for absent terms."""
    energy: dict[tuple[Node, str], FloatArray] = {}
    count: dict[tuple[Node, str], np.ndarray] = {}
    for site_id, node_id, term, bucket, kwh, reporting in rows:
        key = ((int(site_id), int(node_id)), str(term))
        if key not in energy:
            energy[key] = np.full(n, np.nan)
            count[key] = np.zeros(n, dtype=int)
        i = (int(bucket) - lo) // step
        if 0 <= i < n:
            energy[key][i] = float(kwh)
            count[key][i] = int(reporting)
    measured: dict[Node, dict[str, FloatArray | None]] = {}
    for node, terms in roles.items():
        measured[node] = {}
        for term in TERMS:
            unmetered_export = term == "export" and (node, term) not in energy
            if term not in terms or (unmetered_export and not terms & EXPORT_SOURCES):
                measured[node][term] = None  # absent (nothing on site could export: 0)
                continue
            values = energy.get((node, term), np.full(n, np.nan))
            seen = count.get((node, term), np.zeros(n, dtype=int))
            measured[node][term] = np.where(seen == seen.max(initial=0), values, np.nan)
    return measured


def combine(parts: Sequence[Balance], n: int) -> Balance:
    """The sum of connection points' balances: a term is unknown where any point's is,
    derived where any point's was derived, absent where all are absent."""
    if not parts:
        return solve_balance({}, intervals=n)
    values = {t: np.sum([p.values[t] for p in parts], axis=0) for t in TERMS}
    sources = {}
    for term in TERMS:
        stacked = np.stack([p.sources[term] for p in parts])
        merged = np.full(n, Source.MEASURED.value, dtype="<U8")
        merged[(stacked == Source.ABSENT.value).all(axis=0)] = Source.ABSENT.value
        merged[(stacked == Source.DERIVED.value).any(axis=0)] = Source.DERIVED.value
        merged[(stacked == Source.UNKNOWN.value).any(axis=0)] = Source.UNKNOWN.value
        sources[term] = merged
    residuals = np.stack([p.residual_kwh for p in parts])
    residual = np.where(np.isnan(residuals).all(axis=0), np.nan, np.nansum(residuals, axis=0))
    flagged = np.logical_or.reduce([p.flagged for p in parts])
    return Balance(values, sources, residual, flagged)
