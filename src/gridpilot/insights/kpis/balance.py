"""A site's KPIs from its energy balance: import, export, generation, storage and consumption,
and self-consumption and self-sufficiency for every site with generation, prosumers and
communities included (docs/site-energy.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import (
    TERMS,
    Balance,
    Source,
    self_consumption,
    self_sufficiency,
)
from gridpilot.balance.service import SiteBalance, site_balances


def _totals(balance: Balance) -> dict[str, float | None]:
    """Each term's sum over the complete intervals [kWh]; None when none is complete."""
    totals = {t: balance.known_total_kwh(t) for t in TERMS}
    return {f"{t}_kwh": None if v is None else round(v, 6) for t, v in totals.items()}


async def balance_kpis(
    *,
    session: AsyncSession,
    site_id: int,
    start_ms: int,
    end_ms: int,
    found: SiteBalance | None = None,
) -> dict[str, Any]:
    """``balance`` (the terms [kWh] with their sources and coverage) and, when the site
    generated, ``self_consumption`` and ``self_sufficiency`` [0-1] from it; ``found``: the
    balance when the caller has already solved it."""
    site = found
    if site is None:
        site = (
            await site_balances(
                session=session, site_ids=[site_id], start_ms=start_ms, end_ms=end_ms
            )
        )[site_id]
    b = site.balance
    with_assets = site.points_with_assets
    covered = with_assets - len(site.without_data)
    point_share = covered / with_assets if with_assets else 1.0
    coverage = b.coverage() * point_share  # a silent member is not covered
    out: dict[str, Any] = {
        "balance": {
            "unit": "kWh",
            "coverage": coverage,
            "interval_s": site.step_ms // 1000,
            "flagged_intervals": int(b.flagged.sum()),
            "flagged_kwh": {f"{t}_kwh": round(b.flagged_kwh(t), 6) for t in TERMS},
            "point_coverage": point_share,
            "points_without_data": list(site.without_data),
            **_totals(b),
            "sources": {t: {s.value: b.share(t, s) for s in Source} for t in TERMS},
        }
    }
    detail = {
        "generation_kwh": b.total_kwh("generation"),
        "export_kwh": b.total_kwh("export"),
        "import_kwh": b.total_kwh("import"),
        "consumption_kwh": b.total_kwh("consumption"),
        "basis": "balance",
    }
    consumption, sufficiency = self_consumption(b), self_sufficiency(b)
    if consumption is not None:
        out["self_consumption"] = {
            "value": consumption,
            "unit": "1",
            "coverage": coverage,
            **detail,
        }
        out["self_sufficiency"] = {
            "value": sufficiency,
            "unit": "1",
            "coverage": coverage,
            **detail,
        }
    return out
