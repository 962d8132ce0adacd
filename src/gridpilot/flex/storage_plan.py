"""The flex schedule as the plan of a site's batteries, for storage forecasts (issue #21).

Registered with ``insights.forecasts.storage_plans`` when this module is imported (by
``flex.service``): a battery asset's forecast is then its planned charge (> 0) and discharge
(< 0) [kW] from the site's latest stored schedule, where the schedule reaches.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.errors import NotFound
from gridpilot.flex.resources import list_resources
from gridpilot.flex.schedules import get_latest_schedule
from gridpilot.insights.forecasts.storage_plans import register_storage_plan


async def planned_battery_kw(
    *, session: AsyncSession, site_id: int, asset_id: int, index: pd.DatetimeIndex
) -> np.ndarray | None:
    """Charge - discharge [kW] of the battery resource carried by ``asset_id`` in the site's
    latest schedule, at each interval of ``index`` (the schedule's step holding its start;
    NaN outside the schedule); None without a schedule or such a battery."""
    resources = await list_resources(session=session, site_id=site_id)
    names = [r.name for r in resources if r.kind == "battery" and r.asset_id == asset_id]
    if not names:
        return None
    try:
        schedule = await get_latest_schedule(session=session, site_id=site_id)
    except NotFound:
        return None
    starts = pd.DatetimeIndex([pd.Timestamp(step.ts) for step in schedule.steps])
    power = [
        sum(step.batteries[n].charge_kw - step.batteries[n].discharge_kw for n in names)
        if all(n in step.batteries for n in names)
        else np.nan
        for step in schedule.steps
    ]
    if len(starts) == 0:
        return None
    plan = pd.Series(power, index=starts.tz_convert("UTC"), dtype="float64").sort_index()
    where = np.asarray(plan.index.searchsorted(pd.DatetimeIndex(index), side="right")) - 1
    end = plan.index[-1] + pd.Timedelta(seconds=schedule.step_s)
    inside = (where >= 0) & np.asarray(pd.DatetimeIndex(index) < end)
    out = np.full(len(index), np.nan)
    out[inside] = plan.to_numpy()[where[inside]]
    return out


register_storage_plan(planned_battery_kw)
