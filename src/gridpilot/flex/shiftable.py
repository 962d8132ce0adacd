"""The shiftable loads' own consumption taken out of the site's consumption forecast.

The site's consumption forecast is learnt from its measured consumption, which already holds
what its EV chargers and deferrable loads drew in the past; planned on top of it, they would be
counted twice (once in the forecast at their usual hours, once where the plan puts them). For
each enabled EV charger or deferrable load linked to an asset, that asset's own power forecast
(``insights.forecasts.asset.compute_forecast``: fitted on its history, as ``GET
/api/v1/assets/{id}/forecast`` computes it) is averaged onto the plan's steps and subtracted
from the site's, clipped at 0 kW. An asset whose forecast cannot be made (too little history)
is left in, with a note. Resources without an asset cannot be told apart in the measured
consumption and stay in.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.core.errors import GridpilotError
from gridpilot.core.settings import Settings
from gridpilot.core.timestamps import MS_PER_HOUR
from gridpilot.flex.inputs import Horizon, on_steps
from gridpilot.flex.schemas import ResourceOut
from gridpilot.insights.data import SYSTEM
from gridpilot.insights.forecasts.asset import compute_forecast
from gridpilot.insights.forecasts.target import resolve_target
from gridpilot.insights.forecasts.weather import WeatherSource

SHIFTABLE = ("ev_charger", "deferrable_load")


async def without_shiftable(
    *,
    session: AsyncSession,
    resources: list[ResourceOut],
    load_kw: np.ndarray,
    horizon: Horizon,
    now_ms: int,
    settings: Settings,
    weather: WeatherSource | None,
) -> tuple[np.ndarray, dict[str, Any], list[str]]:
    """The load [kW per step] without the shiftable assets' forecasts, the mean kW taken out
    per resource, and notes for what could not be taken out."""
    load = np.asarray(load_kw, dtype=np.float64).copy()
    removed: dict[str, float] = {}
    notes: list[str] = []
    seen: set[int] = set()
    for r in resources:
        if r.kind not in SHIFTABLE or r.asset_id is None or r.asset_id in seen:
            continue
        seen.add(r.asset_id)
        try:
            target = await resolve_target(session=session, principal=SYSTEM, asset_id=r.asset_id)
            forecast = await compute_forecast(
                session=session, target=target, horizon_ms=horizon.end_ms - now_ms + MS_PER_HOUR,
                now_ms=now_ms, settings=settings, weather=weather,
            )  # fmt: skip
        except GridpilotError as exc:
            notes.append(f"{r.name}: its own consumption could not be forecast ({exc.message}); "
                         "the site's consumption forecast may count it twice")  # fmt: skip
            continue
        kw = on_steps(forecast, horizon)
        if kw is None:
            notes.append(f"{r.name}: its forecast does not cover the horizon; left in the load")
            continue
        load -= kw
        removed[r.name] = round(float(kw.mean()), 3)
    return np.clip(load, 0.0, None), removed, notes
