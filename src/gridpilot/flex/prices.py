"""A site's dynamic (market) prices: stored intervals of import and export EUR/kWh that the
planner uses instead of the tariff's where they cover a step (``step_prices``).

A step is priced by the interval holding its start, as the tariff prices a step at its start.
Putting prices replaces the site's stored intervals that overlap the new ones' span; reading
and deleting take a ``[start, end)`` window.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.auth.permissions import Principal
from gridpilot.core.timestamps import from_ms, now_ms, to_ms
from gridpilot.flex.models import SitePrice
from gridpilot.flex.price_schemas import PriceOut, PricesOut, PricesPut
from gridpilot.flex.resources import site_in_scope

MS_PER_MIN = 60_000


async def put_prices(
    *, session: AsyncSession, site_id: int, principal: Principal, data: PricesPut
) -> PricesOut:
    """Store ``data`` (ordered, non-overlapping: the schema checks), replacing the site's
    intervals that overlap its span."""
    await site_in_scope(session, site_id, principal)
    spans = [(to_ms(p.start), to_ms(p.start) + p.duration_min * MS_PER_MIN) for p in data.prices]
    recorded = now_ms()
    rows = [
        {
            "site_id": site_id,
            "start_ms": start,
            "end_ms": end,
            "import_eur_per_kwh": p.import_eur_per_kwh,
            "export_eur_per_kwh": p.export_eur_per_kwh,
            "recorded_ms": recorded,
        }
        for p, (start, end) in zip(data.prices, spans, strict=True)
    ]
    lo, hi = spans[0][0], spans[-1][1]
    await session.execute(
        delete(SitePrice).where(
            SitePrice.site_id == site_id, SitePrice.start_ms < hi, SitePrice.end_ms > lo
        )
    )
    await session.execute(insert(SitePrice), rows)
    return await list_prices(
        session=session, site_id=site_id, principal=principal, start_ms=lo, end_ms=hi
    )


async def _rows(session: AsyncSession, site_id: int, start_ms: int, end_ms: int) -> list[SitePrice]:
    query = (
        select(SitePrice)
        .where(
            SitePrice.site_id == site_id,
            SitePrice.start_ms < end_ms,
            SitePrice.end_ms > start_ms,
        )
        .order_by(SitePrice.start_ms)
    )
    return list((await session.scalars(query)).all())


async def list_prices(
    *, session: AsyncSession, site_id: int, principal: Principal, start_ms: int, end_ms: int
) -> PricesOut:
    """The site's intervals overlapping ``[start_ms, end_ms)``, oldest first."""
    await site_in_scope(session, site_id, principal)
    found = await _rows(session, site_id, start_ms, end_ms)
    return PricesOut(
        site_id=site_id,
        prices=[
            PriceOut(
                start=from_ms(r.start_ms),
                end=from_ms(r.end_ms),
                import_eur_per_kwh=r.import_eur_per_kwh,
                export_eur_per_kwh=r.export_eur_per_kwh,
            )
            for r in found
        ],
    )


async def delete_prices(
    *, session: AsyncSession, site_id: int, principal: Principal, start_ms: int, end_ms: int
) -> int:
    """Delete the intervals that start in ``[start_ms, end_ms)``; how many."""
    await site_in_scope(session, site_id, principal)
    done = await session.execute(
        delete(SitePrice).where(
            SitePrice.site_id == site_id,
            SitePrice.start_ms >= start_ms,
            SitePrice.start_ms < end_ms,
        )
    )
    return int(done.rowcount or 0)  # type: ignore[attr-defined]


async def step_prices(
    *, session: AsyncSession, site_id: int, starts_ms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Import and export price [EUR/kWh] of each step start from the stored intervals: NaN
    where no interval holds the start (import) or it agrees no export price (export)."""
    imports = np.full(len(starts_ms), np.nan)
    exports = np.full(len(starts_ms), np.nan)
    if len(starts_ms) == 0:
        return imports, exports
    found = await _rows(session, site_id, int(starts_ms[0]), int(starts_ms[-1]) + 1)
    for r in found:
        inside = (starts_ms >= r.start_ms) & (starts_ms < r.end_ms)
        imports[inside] = r.import_eur_per_kwh
        if r.export_eur_per_kwh is not None:
            exports[inside] = r.export_eur_per_kwh
    return imports, exports
