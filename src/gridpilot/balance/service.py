"""Site energy balances from the database: one statement per grid for all the sites asked for,
then the pure solver (``analytics.site_balance``) per connection point, summed per site.

A connection point is a prosumer asset, or the rest of the site. Its import and export are
unknown unless metered (never absent once it has an asset), and so is its consumption once the
exchange is metered; another term is *absent* when none of its assets has a role feeding it, and
*measured* in an interval when every asset that reported it at some time in the period reported
it in that interval; otherwise it is unknown there and may be derived. The consumption of a point
that no meter of consumption or exchange sees (a plant: generation and storage only) is assumed
0 only in the intervals where its generation and storage are known; elsewhere it is unknown, as
are its import and export (``solve_point``, also for the current balance). A point with assets
but no reading at all in the period is *without data*: it is left out of the site's figures
(listed instead), unless no point of the site has data (see docs/site-energy.md).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import TERMS, Balance, FloatArray, Source, solve_balance
from gridpilot.assets.catalogue import ENERGY_TERMS, POWER_TERMS
from gridpilot.assets.models import Asset, Site
from gridpilot.balance import grid as grids
from gridpilot.balance import stored_sql
from gridpilot.balance.grid import Grid, make_grid
from gridpilot.balance.queries import balance_sql
from gridpilot.balance.rows import from_arrays, from_rows
from gridpilot.balance.submeters import Remainder, remainders
from gridpilot.core.timestamps import now_ms as clock_ms
from gridpilot.telemetry.rollups import STEPS_MS

#: Kept for callers: the intervals of a balance chosen by the length of its period.
FINE_STEP_MS = STEPS_MS["15m"]
COARSE_STEP_MS = STEPS_MS["1h"]
FINE_UP_TO_MS = grids.FINE_UP_TO_MS
MAX_PERIOD_MS = grids.MAX_PERIOD_MS["1h"]
#: The default hold limit of a power reading [s] (``Settings.energy_max_gap_s``).
DEFAULT_MAX_GAP_S = 900

#: Terms without which a connection point cannot export unless a meter says it does.
EXPORT_SOURCES = frozenset({"generation", "discharge"})
#: The terms of a point's exchange with the grid (and its consumption, derived from them).
EXCHANGE = frozenset({"import", "export", "consumption"})

Node = tuple[int, int]  # (site id, asset id of a prosumer or 0 for the rest of the site)


@dataclass(frozen=True)
class SiteBalance:
    """One site's balance on the intervals ``edges[i]..edges[i + 1]`` [ms] (``step_ms``: their
    nominal width). ``without_data``: the points (prosumer asset id, 0 for the rest of the site)
    with assets but no reading in the period, left out of ``balance`` unless every point is."""

    site_id: int
    start_ms: int
    step_ms: int
    balance: Balance
    connection_points: int
    edges: tuple[int, ...] = ()
    interval: str = "15m"
    points_with_assets: int = 0
    without_data: tuple[int, ...] = ()
    remainders: tuple[Remainder, ...] = ()


def balance_step(start_ms: int, end_ms: int) -> int:
    """The interval [ms] a balance of ``[start_ms, end_ms)`` is solved on by default."""
    return FINE_STEP_MS if end_ms - start_ms <= FINE_UP_TO_MS else COARSE_STEP_MS


def _terms_of(role: str) -> set[str]:
    terms = set(ENERGY_TERMS.get(role, {}).values())
    for positive, negative in POWER_TERMS.get(role, {}).values():
        terms.add(positive)
        if negative:
            terms.add(negative)
    return terms


async def site_balances(
    *,
    session: AsyncSession,
    site_ids: Sequence[int],
    start_ms: int,
    end_ms: int,
    interval: str | None = None,
    now_ms: int | None = None,
    max_gap_s: int = DEFAULT_MAX_GAP_S,
    with_remainders: bool = False,
) -> dict[int, SiteBalance]:
    """The balance of each site of ``site_ids`` over ``[start_ms, end_ms)`` (scope checked by
    the caller), widened to whole intervals: ``interval`` 15m, 1h or 1d (the days of each
    site's time zone), by default 15m up to 7 days and 1h beyond. ``ValidationFailed`` for an
    empty or too long period. Power counts up to ``now_ms`` (default: now)."""
    make_grid(start_ms, end_ms, interval)  # validates the period before any query
    grids: dict[Grid, list[int]] = defaultdict(list)
    zones = await _timezones(session, site_ids) if interval == "1d" else {}
    for site_id in site_ids:
        grids[make_grid(start_ms, end_ms, interval, zones.get(site_id, "UTC"))].append(site_id)
    roles = await node_terms(session, site_ids)
    nodes_of: dict[int, list[Node]] = defaultdict(list)
    for node in roles:
        nodes_of[node[0]].append(node)
    result: dict[int, SiteBalance] = {}
    for grid, ids in grids.items():
        params = {
            "site_ids": list(ids),
            "lo": grid.lo,
            "hi": grid.hi,
            "level": grid.level_ms,
            "now": clock_ms() if now_ms is None else now_ms,
            "max_gap": max_gap_s * 1000,
        }
        energy = by_node(await read_energy(session, grid, params))
        parts = await remainders(session, grid, params) if with_remainders else {}
        for site_id in ids:
            nodes = nodes_of[site_id]
            result[site_id] = _solve_site(site_id, grid, nodes, roles, energy)
            if parts.get(site_id):
                result[site_id] = _with(result[site_id], parts[site_id])
    return result


def _with(site: SiteBalance, parts: list[Remainder]) -> SiteBalance:
    return SiteBalance(**{**site.__dict__, "remainders": tuple(parts)})


def _solve_site(
    site_id: int,
    grid: Grid,
    nodes: list[Node],
    roles: dict[Node, set[str]],
    energy: dict[Node, dict[str, FloatArray]],
) -> SiteBalance:
    """Solve each point, leaving out the points with assets but no data (unless all are)."""
    reported = set(energy)
    with_assets = [node for node in nodes if roles[node]]
    silent = tuple(sorted(node[1] for node in with_assets if node not in reported))
    counted = [node for node in nodes if node not in reported and not roles[node]]
    counted += [node for node in nodes if node in reported]
    if not any(node in reported for node in nodes):
        counted = nodes  # nothing reported anywhere: the site's terms stay unknown
    parts = [solve_point(roles[node], energy.get(node, {}), grid.n) for node in counted]
    return SiteBalance(
        site_id=site_id,
        start_ms=grid.lo,
        step_ms=grid.nominal_ms,
        balance=combine(parts, grid.n),
        connection_points=len(nodes),
        edges=grid.edges,
        interval=grid.name,
        points_with_assets=len(with_assets),
        without_data=silent,
    )


async def _timezones(session: AsyncSession, site_ids: Sequence[int]) -> dict[int, str]:
    rows = await session.execute(select(Site.id, Site.timezone).where(Site.id.in_(site_ids)))
    return {int(site_id): str(zone) for site_id, zone in rows}


async def node_terms(session: AsyncSession, site_ids: Sequence[int]) -> dict[Node, set[str]]:
    """The terms each connection point can have, from its assets' roles (an empty set: the
    rest of a site that has only prosumers)."""
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


async def read_energy(
    session: AsyncSession, grid: Grid, params: dict[str, Any]
) -> dict[tuple[Node, str], FloatArray]:
    """Each point's terms per interval [kWh] on ``grid`` (NaN where not measured): one
    statement; on PostgreSQL, where the stored path applies, as one row of arrays per point
    and term (``balance_sql(..., arrays=True)``)."""
    arrays = session.get_bind().dialect.name == "postgresql" and stored_sql.applies(grid)
    rows = (await session.execute(balance_sql(grid, arrays=arrays), params)).all()
    return from_arrays(rows, grid) if arrays else from_rows(rows, grid)


def by_node(energy: dict[tuple[Node, str], FloatArray]) -> dict[Node, dict[str, FloatArray]]:
    """Each connection point's measured terms [kWh per interval, NaN where not every asset that
    reported the term in the period reported it]; a point without data has no entry."""
    nodes: dict[Node, dict[str, FloatArray]] = defaultdict(dict)
    for (node, term), values in energy.items():
        nodes[node][term] = values
    return dict(nodes)


def solve_point(possible: set[str], energy: Mapping[str, FloatArray], n: int) -> Balance:
    """One connection point's balance over ``n`` intervals: ``possible``, its terms
    (``node_terms``); ``energy``, what its meters gave per term (NaN where not measured; no
    entry: no reading in the period). The one rule of the interval balances (both statements)
    and of the current balance (``balance.current``):

    - a term none of its assets feeds is absent (0), and so is export where nothing there can
      export (no generation, no storage) and no meter reports it; otherwise a term without a
      reading is unknown;
    - a point that no meter of consumption or exchange sees (a plant: generation and storage
      only) has no load: its consumption is absent (0) in the intervals where its generation
      and storage are all known (its export and import are then derived), and unknown where
      they are not: after its data ends consumption, import and export are unknown, never 0.
    """
    measured: dict[str, FloatArray | None] = {}
    for term in TERMS:
        unmetered_export = term == "export" and term not in energy
        if term not in possible or (unmetered_export and not possible & EXPORT_SOURCES):
            measured[term] = None  # absent (nothing on site could export: 0)
            continue
        measured[term] = energy.get(term, np.full(n, np.nan))
    assumed: dict[str, npt.NDArray[np.bool_]] = {}
    if "consumption" not in possible:
        own = [v for t, v in measured.items() if t not in EXCHANGE and v is not None]
        if own:  # no load where its own meters tell what happened
            assumed["consumption"] = np.logical_and.reduce([~np.isnan(v) for v in own])
    return solve_balance(measured, intervals=n, absent_where=assumed)


def combine(parts: Sequence[Balance], n: int) -> Balance:
    """The sum of connection points' balances: a term is unknown where any point's is,
    derived where any point's was derived, absent where all are absent."""
    if not parts:
        return solve_balance({}, intervals=n)
    if len(parts) == 1:
        return parts[0]  # what the sums below give for one point
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
