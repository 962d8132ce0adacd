"""The metered usage a VEN reports (TELEMETRY_USAGE): the site's consumption from the site energy
balance (``balance.service``: import - export + generation + discharge - charge), as the mean
power [kW] of the last whole 15-min interval."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.site_balance import Source
from gridpilot.balance.service import site_balances

STEP_MS = 15 * 60_000
MS_PER_HOUR = 3_600_000


async def last_usage_kw(
    *, session: AsyncSession, site_id: int, now_ms: int
) -> tuple[dt.datetime, float] | None:
    """(start of the last whole 15-min interval before ``now_ms`` (UTC), mean consumption [kW]),
    or None when the balance does not know it."""
    end = now_ms - now_ms % STEP_MS
    start = end - STEP_MS
    found = await site_balances(
        session=session,
        site_ids=[site_id],
        start_ms=start,
        end_ms=end,
        interval="15m",
        now_ms=now_ms,
    )
    balance = found[site_id]
    if not balance.edges or balance.balance.sources["consumption"][0] == Source.ABSENT.value:
        return None
    kwh = float(balance.balance.values["consumption"][0])
    if kwh != kwh:  # NaN: not known
        return None
    kw = round(kwh * MS_PER_HOUR / balance.step_ms, 6)
    return dt.datetime.fromtimestamp(balance.edges[0] / 1000, tz=dt.UTC), kw
