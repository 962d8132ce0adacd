"""Parts of the site energy report shared by its two targets, a site and a device group's sites:
the parameters, the daily trend and the load profile from site balances, the top consumers (their
energy in one batch: ``telemetry.energy_batch.energies``), the alerts of the period.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from gridpilot.alerts.lifecycle import AlertFilter, list_alerts
from gridpilot.assets.models import Asset
from gridpilot.assets.service import list_assets
from gridpilot.balance.service import SiteBalance
from gridpilot.reports.document import Chart, Column, Figure, Section, Table
from gridpilot.reports.kinds import BuildContext
from gridpilot.telemetry.energy_batch import energies

INTERVAL_MS = {"15m": 900_000, "1h": 3_600_000}
MAX_ALERTS = 500
TERMS = ("consumption", "import", "generation")


class SiteEnergyParams(BaseModel):
    """Parameters of the site energy report."""

    model_config = ConfigDict(extra="forbid")

    interval: Literal["15m", "1h"] = Field(
        default="15m", description="Demand interval of peak, load factor and profile"
    )
    top_consumers: int = Field(default=10, ge=1, le=50, description="Consumers listed")


def value(kpis: dict[str, Any], key: str) -> Any:
    """A KPI's value (None when absent)."""
    return (kpis.get(key) or {}).get("value")


def days(balances: Sequence[SiteBalance], timezone: str) -> tuple[Table, Chart]:
    """Consumption, import and generation per local day [kWh] of the sites together (each
    site's known intervals summed): the days add up to the sites' consumption."""
    zone = ZoneInfo(timezone)
    sums: dict[str, dict[str, float]] = defaultdict(lambda: dict.fromkeys(TERMS, 0.0))
    starts: dict[str, int] = {}
    for site in balances:
        values = site.balance.values
        for i, edge in enumerate(site.edges[:-1]):
            day = datetime.fromtimestamp(edge / 1000, tz=zone).date().isoformat()
            starts[day] = min(starts.get(day, edge), edge)
            for term in TERMS:
                kwh = float(values[term][i])
                if not np.isnan(kwh):
                    sums[day][term] += kwh
    order = sorted(starts)
    columns = [Column("day", "Day", kind="time")] + [
        Column(f"{t}_kwh", t.capitalize(), "kWh", decimals=1) for t in TERMS
    ]
    rows = [[starts[d], *(sums[d][t] for t in TERMS)] for d in order]
    chart = Chart(
        "daily_trend",
        "Daily consumption",
        "bar",
        [d[5:] for d in order],
        {"consumption": [sums[d]["consumption"] for d in order]},
        "kWh",
    )
    return Table("daily_trend", "Energy per day", columns, rows), chart


def coincident(balances: Sequence[SiteBalance]) -> tuple[list[int], np.ndarray, int]:
    """(interval starts [ms], the sites' summed consumption per interval [kWh], NaN where a
    site's is unknown, the step [ms]): the sites' balances share their intervals."""
    first = balances[0]
    edges = list(first.edges[:-1])
    total = np.zeros(len(edges))
    for site in balances:
        part = np.asarray(site.balance.values["consumption"], dtype="float64")[: len(edges)]
        total = total + part
    return edges, total, first.step_ms


def profile(edges: Sequence[int], kwh: np.ndarray, step_ms: int, timezone: str) -> Chart:
    """Mean consumption [kW] per local time of day over the period's known intervals."""
    zone = ZoneInfo(timezone)
    slots: dict[str, list[float]] = defaultdict(list)
    hours = step_ms / 3_600_000
    for edge, energy in zip(edges, kwh, strict=True):
        if not np.isnan(energy):
            slots[f"{datetime.fromtimestamp(edge / 1000, tz=zone):%H:%M}"].append(
                float(energy) / hours
            )
    labels = sorted(slots)
    mean = [float(np.mean(slots[s])) for s in labels]
    return Chart(
        "load_profile",
        "Load profile (mean by time of day)",
        "line",
        labels,
        {"consumption": mean},
        "kW",
    )


async def consumers(
    ctx: BuildContext,
    site_ids: Sequence[int],
    total_kwh: float | None,
    top: int,
    site_names: dict[int, str] | None = None,
) -> Table:
    """The ``top`` consumer assets of the sites by energy, with their share of ``total_kwh``
    and coverage; every asset's energy in one batch (``energies``), the same figures as
    ``telemetry.energy`` asset by asset. ``site_names``: a site column (a group's report)."""
    assets: list[Asset] = await list_assets(
        session=ctx.session,
        principal=ctx.principal,
        site_ids=list(site_ids),
        role="consumer",
        limit=100_000,
    )
    results = await energies(
        session=ctx.session,
        asset_ids=[a.id for a in assets],
        start_ms=ctx.start_ms,
        end_ms=ctx.end_ms,
        max_gap_s=ctx.settings.energy_max_gap_s,
    )
    found = []
    for asset in assets:
        result = results[asset.id]
        if result.energy_kwh is not None:
            found.append((result.energy_kwh, asset.name, asset.site_id, result.coverage))
    found.sort(key=lambda item: (-item[0], item[1]))
    columns = [Column("asset", "Asset", kind="text")]
    if site_names is not None:
        columns.append(Column("site", "Site", kind="text"))
    columns += [
        Column("energy_kwh", "Energy", "kWh", decimals=1),
        Column("share_pct", "Share", "%", decimals=1),
        Column("coverage_pct", "Coverage", "%", decimals=1),
    ]
    rows = []
    for kwh, name, site_id, cover in found[:top]:
        share = 100 * kwh / total_kwh if total_kwh else None
        where = [site_names.get(site_id, f"#{site_id}")] if site_names is not None else []
        rows.append([name, *where, kwh, share, 100 * cover])
    return Table("top_consumers", f"Top {top} consumers", columns, rows)


async def alerts(
    ctx: BuildContext, site_ids: Sequence[int], site_names: dict[int, str] | None = None
) -> Section:
    """The alerts raised on the sites in the period (at most ``MAX_ALERTS``), by severity.
    ``site_names``: a site column (a group's report)."""
    where = AlertFilter(
        site_ids=list(site_ids),
        since=datetime.fromtimestamp(ctx.start_ms / 1000, tz=UTC),
        until=datetime.fromtimestamp(ctx.end_ms / 1000, tz=UTC),
    )
    found = await list_alerts(
        session=ctx.session, principal=ctx.principal, where=where, limit=MAX_ALERTS, offset=0
    )
    count = {s: sum(1 for a in found if a.severity == s) for s in ("critical", "warning", "info")}
    rows = []
    for a in found[::-1]:
        where_ = [site_names.get(a.site_id, f"#{a.site_id}")] if site_names is not None else []
        rows.append([int(a.raised_at.timestamp() * 1000), *where_, a.severity, a.state, a.title])
    columns = [Column("raised", "Raised", kind="time")]
    if site_names is not None:
        columns.append(Column("site", "Site", kind="text"))
    columns += [
        Column("severity", "Severity", kind="text"),
        Column("state", "State now", kind="text"),
        Column("title", "Alert", kind="text"),
    ]
    return Section(
        "Alerts of the period",
        [
            Figure("alerts", "Alerts raised", len(found), "", 0),
            *(Figure(f"alerts_{s}", s.capitalize(), n, "", 0) for s, n in count.items()),
            Table("alerts", "Alerts raised in the period", columns, rows),
        ],
    )


def pct(share: float | None) -> float | None:
    return None if share is None else 100.0 * share
