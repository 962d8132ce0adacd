"""Time series for analytics: telemetry rollups as pandas Series on a regular UTC grid.

Every analytics service loads its inputs here, so the grid, the gaps (NaN) and the access check
are the same everywhere. Access: pass the caller's ``principal`` for a visibility check (404 for
another site's data); background jobs pass none.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import DEFAULT_INTERVAL_CONVENTION, interval_convention
from gridpilot.assets.service import find_metric_ref, get_site, list_assets
from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.telemetry.service import series

#: The principal of background jobs (forecast runs, refits): sees everything.
SYSTEM = Principal(subject="system:insights", name="gridpilot analytics", role=Role.ADMINISTRATOR)


@dataclass(frozen=True)
class AssetInfo:
    """What analytics needs to know about an asset (capacity in kW)."""

    id: int
    site_id: int
    name: str
    kind: str
    role: str
    rated_capacity_kw: float | None
    #: ``ending`` or ``beginning`` (``assets.catalogue.INTERVAL_CONVENTIONS``).
    interval_convention: str = DEFAULT_INTERVAL_CONVENTION


def grid(start_ms: int, end_ms: int, step_ms: int) -> pd.DatetimeIndex:
    """Bucket starts ``start, start+step, ...`` before ``end`` (UTC); ``start`` must be aligned."""
    if step_ms <= 0:
        raise ValidationFailed("the step must be positive")
    if end_ms <= start_ms:
        raise ValidationFailed("end must be after start")
    starts = np.arange(start_ms, end_ms, step_ms, dtype="int64")
    return pd.DatetimeIndex(pd.to_datetime(starts, unit="ms", utc=True))


async def load_series(
    *,
    session: AsyncSession,
    asset_id: int,
    metric: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    agg: str = "avg",
    principal: Principal | None = None,
    ending: bool = False,
) -> pd.Series:
    """One asset's ``metric`` aggregated per ``step_ms`` bucket over ``[start_ms, end_ms)``.

    ``start_ms`` is floored to the step (epoch-aligned, UTC). Values are floats in the metric's
    canonical unit (``power_kw`` in kW, ``delta`` of ``energy_kwh`` in kWh per bucket); buckets
    without data are NaN. Raises ``NotFound`` for an unknown metric or an asset the principal
    cannot see, ``ValidationFailed`` for a bad period or aggregate. ``ending``: buckets of
    interval-ending data, ``(b, b + step]`` (``telemetry.queries.series``).
    """
    start_ms -= start_ms % step_ms
    index = grid(start_ms, end_ms, step_ms)
    ref = await find_metric_ref(session=session, key=metric)
    if ref is None:
        raise NotFound(f"metric {metric!r} not found")
    result = await series(
        session=session,
        asset_id=asset_id,
        metric_id=ref.id,
        start_ms=start_ms,
        end_ms=end_ms,
        step_ms=step_ms,
        agg=agg,
        max_points=len(index) + 1,
        principal=principal,
        ending=ending,
    )
    values = pd.Series(np.nan, index=index, dtype="float64", name=metric)
    if result.points:
        stamps = pd.to_datetime([p.ts_ms for p in result.points], unit="ms", utc=True)
        found = pd.Series(
            [np.nan if p.value is None else float(p.value) for p in result.points],
            index=pd.DatetimeIndex(stamps),
            dtype="float64",
        )
        values.loc[found.index.intersection(index)] = found
    return values


async def site_assets(
    *,
    session: AsyncSession,
    site_id: int,
    roles: Sequence[str] | None = None,
    principal: Principal | None = None,
) -> list[AssetInfo]:
    """The site's assets (optionally only ``roles``); ``NotFound`` for a site out of scope."""
    viewer = principal or SYSTEM
    await get_site(session=session, site_id=site_id, principal=viewer)
    assets = await list_assets(session=session, principal=viewer, site_id=site_id, limit=100_000)
    return [
        AssetInfo(
            a.id,
            a.site_id,
            a.name,
            a.kind,
            a.role,
            a.rated_capacity_kw,
            interval_convention(a.attributes),
        )
        for a in assets
        if roles is None or a.role in roles
    ]


async def load_site_series(
    *,
    session: AsyncSession,
    site_id: int,
    metric: str,
    start_ms: int,
    end_ms: int,
    step_ms: int,
    agg: str = "avg",
    roles: Sequence[str] | None = None,
    principal: Principal | None = None,
) -> pd.Series:
    """Per-bucket sum of ``metric`` over the site's assets (only ``roles`` when given).

    A bucket is NaN when no asset had data in it; otherwise the sum of the assets that had.
    """
    assets = await site_assets(session=session, site_id=site_id, roles=roles, principal=principal)
    start_ms -= start_ms % step_ms
    total = pd.Series(np.nan, index=grid(start_ms, end_ms, step_ms), dtype="float64", name=metric)
    for asset in assets:
        part = await load_series(
            session=session,
            asset_id=asset.id,
            metric=metric,
            start_ms=start_ms,
            end_ms=end_ms,
            step_ms=step_ms,
            agg=agg,
        )
        total = total.add(part, fill_value=0.0).where(total.notna() | part.notna())
    return total
