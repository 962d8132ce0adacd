"""The facility seed's read routes over sites (facility id = site id), at the seed's paths:
``GET /api/facilities/{id}/current`` and ``GET /api/facilities/{id}/forecast``. Viewers and
up; another site's facility is 404. See ``facilities.py`` and docs/demand-response.md."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from gridpilot.auth.dependencies import Reader
from gridpilot.balance.dependencies import CacheDep
from gridpilot.core.dependencies import SettingsDep, refuse_unknown_query
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.dr import facilities
from gridpilot.insights.forecasts.tasks import weather_of

facility_router = APIRouter(tags=["demand response"])

FacilityId = Annotated[int, Path(ge=1, le=2**31 - 1, description="The site's id")]


class FacilityCurrent(BaseModel):
    facility_id: int
    facility_name: str
    timestamp: str | None = Field(description="Newest reading used (ISO-8601 UTC)")
    current_power_kw: float | None = Field(description="Site consumption now [kW]")
    grid_import_kw: float | None = Field(description="Import from the grid now [kW]")
    contract_demand_kw: float | None = Field(description="The site's contract demand [kW]")
    contract_utilization_pct: float | None = Field(
        description="Grid import as % of the contract demand"
    )
    headroom_kw: float | None = Field(description="Contract demand - grid import [kW]")
    over_contract: bool


class FacilityForecastPoint(BaseModel):
    timestamp: str = Field(description="Start of the interval (ISO-8601 UTC)")
    predicted_load_kw: float = Field(description="Expected mean consumption [kW]")
    confidence_upper: float = Field(description="Upper bound of the 95 % interval [kW]")
    confidence_lower: float = Field(description="Lower bound of the 95 % interval [kW]")


ERRORS: dict[int | str, dict[str, Any]] = {404: {"description": "No such facility, or not yours"}}


@facility_router.get(
    "/api/facilities/{facility_id}/current",
    summary="Current demand of a facility against its contract (the facility seed's route)",
    description="The site's current energy balance (as `GET /api/v1/sites/{id}/current`) in "
    "the seed's terms: consumption now, grid import, contract utilisation [%].",
    responses=ERRORS,
)
async def facility_current(
    facility_id: FacilityId, principal: Reader, session: SessionDep, cache: CacheDep
) -> FacilityCurrent:
    found = await facilities.facility_current(
        session=session, principal=principal, facility_id=facility_id, cache=cache
    )
    return FacilityCurrent(**found)


@facility_router.get(
    "/api/facilities/{facility_id}/forecast",
    summary="Day-ahead load forecast of a facility (the facility seed's route)",
    description="The site's consumption forecast issued now, from the `granularity` interval "
    "holding `start_time` to the end of the day ahead (now + 24 h), with the 95 % interval. "
    "`1hour` averages whole hours. 422 `granularity_unsupported` (not 15min or 1hour), "
    "`granularity_unavailable` (15min from hourly data), `forecast_start_out_of_range` "
    "(start_time before the current 15-min interval or 24 h or more ahead), "
    "`validation_failed` (start_time unreadable, too little history to forecast, or a query "
    "parameter other than start_time and granularity: `details` names it).",
    responses={**ERRORS, 422: {"description": "A refused query (see the codes above)"}},
)
async def facility_forecast(
    facility_id: FacilityId,
    request: Request,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
    start_time: Annotated[
        str | None,
        Query(max_length=64, description="ISO-8601 (UTC without offset) or epoch ms; default now"),
    ] = None,
    granularity: Annotated[
        str, Query(max_length=20, description="15min (default) or 1hour")
    ] = "15min",
) -> list[FacilityForecastPoint]:
    refuse_unknown_query(request, "start_time", "granularity")
    points = await facilities.facility_forecast(
        session=session, principal=principal, settings=settings, facility_id=facility_id,
        start_time=start_time, granularity=granularity, now_ms=now_ms(),
        weather=weather_of(request.app),
    )  # fmt: skip
    return [FacilityForecastPoint(**p) for p in points]
