"""The energy-flow view (as Home Assistant's energy distribution card): grid, solar, battery
and home with the energy [kWh] and direction of each flow over a period, for a site or summed
over a fleet.

Each node's figure is the balance's total of its terms over the complete intervals, the
figure ``GET /api/v1/sites/{id}/balance`` reports for the same period; unknown (a dash) when no
interval is complete, and the home's when no complete interval has its consumption measured or
derived (a plant without a consumption or grid meter, whose consumption is only assumed 0:
``home_note`` says so). The flows between nodes
are not metered; they are split per interval as Home Assistant splits them (export and battery
charge come first from solar, export then from the battery, charge then from the grid; the
rest of each source serves the home) and summed, so per interval they add up to each node's
terms whenever the balance holds. Solar and battery appear only where a site has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from gridpilot.analytics.site_balance import TERMS, Balance, Source
from gridpilot.assets.models import Site
from gridpilot.balance.service import SiteBalance, site_balances
from gridpilot.web.context import current

#: The links between nodes: (key, from, to).
LINKS = (
    ("solar_home", "solar", "home"),
    ("solar_grid", "solar", "grid"),
    ("solar_battery", "solar", "battery"),
    ("grid_home", "grid", "home"),
    ("grid_battery", "grid", "battery"),
    ("battery_home", "battery", "home"),
    ("battery_grid", "battery", "grid"),
)


@dataclass(frozen=True)
class Flows:
    """Each term's total [kWh] over the complete intervals, each link's energy [kWh], whether
    the sites have solar (generation) and a battery, the share of intervals known (0-1) and
    self-consumption / self-sufficiency (0-1, None without generation / consumption)."""

    kwh: dict[str, float]
    links: dict[str, float]
    solar: bool
    battery: bool
    coverage: float
    self_consumption: float | None
    self_sufficiency: float | None
    #: Why the home's figure is unknown ("no consumption meter", "no data"), None when known.
    home_note: str | None = None


#: The home's figure is unknown: no interval complete at all, or no consumption metered.
NO_DATA, NO_METER = "no data", "no consumption meter"
METERED = (Source.MEASURED.value, Source.DERIVED.value)


def split(v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The links' energy per interval from the terms' (known, absent as 0) [kWh]."""
    g, d, c, e = v["generation"], v["discharge"], v["charge"], v["export"]
    solar_grid = np.minimum(g, e)
    solar_battery = np.minimum(g - solar_grid, c)
    battery_grid = np.clip(e - solar_grid, 0.0, d)
    grid_battery = np.clip(c - solar_battery, 0.0, None)
    return {
        "solar_grid": solar_grid,
        "solar_battery": solar_battery,
        "solar_home": np.clip(g - solar_grid - solar_battery, 0.0, None),
        "battery_grid": battery_grid,
        "battery_home": np.clip(d - battery_grid, 0.0, None),
        "grid_battery": grid_battery,
        "grid_home": np.clip(v["import"] - grid_battery, 0.0, None),
    }


def _has(balance: Balance, term: str) -> bool:
    return bool((balance.sources[term] != "absent").any())


def flows_of(balances: Sequence[Balance]) -> Flows:
    """The flows of one balance or the sum over several (each split on its own intervals)."""
    kwh = dict.fromkeys(TERMS, 0.0)
    links = {key: 0.0 for key, _a, _b in LINKS}
    complete = intervals = 0
    metered = False  # some complete interval's consumption measured or derived
    for balance in balances:
        known = balance.complete
        complete += int(np.count_nonzero(known))
        intervals += known.size
        metered |= bool(np.isin(balance.sources["consumption"][known], METERED).any())
        for term in TERMS:
            kwh[term] += balance.total_kwh(term)
        parts = split({t: np.clip(balance.values[t][known], 0.0, None) for t in TERMS})
        for key, values in parts.items():
            links[key] += float(values.sum())
    note = None
    if intervals and not complete:  # nothing known (a plant after its data ends): not 0
        kwh, note = dict.fromkeys(TERMS, float("nan")), NO_DATA
    elif intervals and not metered:  # only assumed 0 (no load meter, no grid meter)
        kwh["consumption"], note = float("nan"), NO_METER
    used, made = kwh["consumption"], kwh["generation"]
    return Flows(
        kwh=kwh,
        links=links,
        solar=any(_has(b, "generation") for b in balances),
        battery=any(_has(b, "charge") or _has(b, "discharge") for b in balances),
        coverage=complete / intervals if intervals else 0.0,
        self_consumption=None if not made > 0 else min(1.0, max(0.0, 1 - kwh["export"] / made)),
        self_sufficiency=None if not used > 0 else min(1.0, max(0.0, 1 - kwh["import"] / used)),
        home_note=note,
    )


async def load_balances(
    sites: Iterable[Site], spans: dict[int, tuple[int, int]]
) -> list[SiteBalance]:
    """The balances of ``sites`` (scope checked by the caller), each over its own ``[start,
    end)`` in ``spans`` (its local period), as ``GET /sites/{id}/balance`` solves them: one
    balance statement per distinct span."""
    by_span: dict[tuple[int, int], list[int]] = {}
    for site in sites:
        by_span.setdefault(spans[site.id], []).append(site.id)
    context = current()
    found: list[SiteBalance] = []
    async with context.session() as session:
        for (start, end), ids in by_span.items():
            answer = await site_balances(
                session=session,
                site_ids=ids,
                start_ms=start,
                end_ms=end,
                max_gap_s=context.settings.energy_max_gap_s,
            )
            found += answer.values()
    return found


def since(site: SiteBalance, start_ms: int) -> Balance:
    """The intervals of ``site``'s balance that end after ``start_ms``."""
    first = max(0, (start_ms - site.start_ms) // site.step_ms) if site.step_ms else 0
    b = site.balance
    return Balance(
        values={t: v[first:] for t, v in b.values.items()},
        sources={t: v[first:] for t, v in b.sources.items()},
        residual_kwh=b.residual_kwh[first:],
        flagged=b.flagged[first:],
    )
