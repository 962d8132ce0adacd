"""HTTP routes of forecasts (READ permission; another site's data answers 404)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request

from gridpilot.auth.dependencies import Reader
from gridpilot.core.dependencies import SettingsDep, refuse_unknown_query
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.insights.forecasts import service
from gridpilot.insights.forecasts.schemas import ForecastOut
from gridpilot.insights.forecasts.tasks import weather_of
from gridpilot.insights.forecasts.weather import WeatherSource

router = APIRouter(tags=["forecasts"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AssetId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Horizon = Annotated[
    Literal["1h", "24h", "7d"],
    Query(
        description="1h: the next hour; 24h: day-ahead (96 points at 15 min); 7d: week-ahead "
        "(672 points at 15 min, computed on request)"
    ),
]
Quantity = Annotated[
    Literal["consumption", "generation", "net"],
    Query(
        description=(
            "consumption (default) or generation of the site energy balance, each bounded "
            "physically, or net = consumption - generation"
        )
    ),
]


def _weather(request: Request) -> WeatherSource | None:
    return weather_of(request.app)


@router.get(
    "/sites/{site_id}/forecast",
    summary="Consumption, generation or net forecast of a site with 80 % and 95 % intervals",
    description=(
        "Forecast of one quantity of the site energy balance (`quantity` in the answer), in kW "
        "from the 15-min interval holding now, at 15-min resolution or the data's native one "
        "(hourly). consumption is never below 0; generation never below 0, never above the "
        "installed generation capacity (`capacity_kw`, the sum of the generators' "
        "rated_capacity_kw) and 0 while the sun is down at a solar site; batteries enter "
        "neither. Generation is forecast from physics (`method: physical`) when every generator "
        "has a model: PV = pvlib clear-sky power for the array's tilt/azimuth x a clear-sky "
        "index persisted from its own power, wind = its own wind speed persisted through its "
        "power curve; else statistically (`note` says why). net = consumption - generation, "
        "bands combined as independent errors, its terms in `components`. Served from the "
        "15-minute job's stored forecast when fresh, else computed. Weather regressors "
        "(`regressors`) come from the site's own outdoor-temperature and irradiance sensors "
        "over the history, the horizon from the weather-forecast adapter (else persisted from "
        "the sensors' last 7 days; `note` says which), or from the adapter alone when the site "
        "measures no weather. 422 when the site has too "
        "little history of the quantity or a generator's attributes make no sense (a power "
        "curve whose speeds do not increase), and for a query parameter other than `horizon` "
        "and `quantity` (`details` names it: this route takes no `start_time` or "
        "`granularity`; `GET /api/facilities/{id}/forecast` does)."
    ),
)
async def site_forecast(
    site_id: SiteId,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    horizon: Horizon = "24h",
    quantity: Quantity = "consumption",
) -> ForecastOut:
    refuse_unknown_query(request, "horizon", "quantity")
    return await service.get_forecast(
        session=session,
        principal=principal,
        settings=settings,
        horizon=horizon,
        now_ms=now_ms(),
        site_id=site_id,
        quantity=quantity,
        weather=_weather(request),
    )


@router.get(
    "/assets/{asset_id}/forecast",
    summary="Power forecast of an asset with 80 % and 95 % intervals",
    description=(
        "Forecast of the asset's own power_kw (sign as the asset reports it; `quantity` is "
        "null) from the interval holding now (see the site forecast): from physics for a PV "
        "or wind producer with a rated capacity (within [0, rated], 0 at night for PV); 0 for "
        "storage, which follows its plan (the site's flex schedule), with a `note`. 422 when "
        "the asset has too little history or nonsensical attributes, and for a query "
        "parameter other than `horizon` (`details` names it)."
    ),
)
async def asset_forecast(
    asset_id: AssetId,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    horizon: Horizon = "24h",
) -> ForecastOut:
    refuse_unknown_query(request, "horizon")
    return await service.get_forecast(
        session=session,
        principal=principal,
        settings=settings,
        horizon=horizon,
        now_ms=now_ms(),
        asset_id=asset_id,
        weather=_weather(request),
    )
