"""Flexibility routes under /api/v1: a site's flexible resources and its schedule.

Reading needs READ (viewers); writing CONFIGURE (operators and up). Another site's resources
and schedules answer 404. See ``docs/flexibility.md`` (API).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Path, Query, Request, Response

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.dependencies import SettingsDep
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.flex import service
from gridpilot.flex.price_routes import router as prices_router
from gridpilot.flex.savings_schemas import FlexSavingsOut
from gridpilot.flex.schedule_schemas import ScheduleOut, ScheduleRequest
from gridpilot.flex.schemas import ResourceCreate, ResourceOut, ResourceUpdate
from gridpilot.flex.shaving_routes import router as shaving_router
from gridpilot.insights.forecasts.tasks import weather_of
from gridpilot.insights.forecasts.weather import WeatherSource

router = APIRouter(tags=["flexibility"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
ResourceId = Annotated[int, Path(ge=1, le=2**31 - 1)]
RESOURCES = "/sites/{site_id}/flex-resources"

RESOURCE_DESCRIPTION = """
`kind` decides the `params` (units in the names; defaults filled in when omitted):

- `battery`: `capacity_kwh`, `soc_min_pct`/`soc_max_pct` (10/90), `soc_start_pct` (50, used
  when the linked asset reports no SOC), `soc_end_pct`, `charge_max_kw`, `discharge_max_kw`,
  `charge_efficiency`/`discharge_efficiency` (0.95), `cycle_cost_eur_per_kwh`.
- `ev_charger`: `power_min_kw`, `power_max_kw`, `sessions` (`arrival`, `departure`,
  `energy_kwh` needed by departure).
- `deferrable_load`: `energy_kwh` per daily window `window_start`-`window_end` (site local
  time), `power_min_kw`, `power_max_kw`, `interruptible`, `min_run_min`.
- `curtailable_load`: `shed_kw`, `max_duration_min`, `rebound_pct`, `cost_eur_per_kwh`.
- `hvac`: `kw_per_degc`, `max_offset_degc`, `max_duration_min`.
- `pv_curtailment`: `export_limit_kw`.

An `asset_id` must be an asset of the same site (a battery's of kind `battery`, an EV
charger's `ev_charger`, PV curtailment's `solar_pv` or `inverter`). Figures the optimiser
cannot use answer 422 with the reason; a name already used on the site 409.
"""


@router.get(
    RESOURCES,
    summary="List a site's flexible resources",
    responses={404: {"description": "No such site in your scope"}},
)
async def list_resources(
    site_id: SiteId, principal: Reader, session: SessionDep
) -> list[ResourceOut]:
    return await service.list_resources(session=session, site_id=site_id, principal=principal)


@router.post(
    RESOURCES,
    status_code=201,
    summary="Add a flexible resource to a site",
    description=RESOURCE_DESCRIPTION,
    responses={
        404: {"description": "No such site (or asset) in your scope"},
        409: {"description": "Name already used on the site, or too many resources"},
    },
)
async def create_resource(
    site_id: SiteId,
    data: Annotated[ResourceCreate, Body()],
    principal: Configurer,
    session: SessionDep,
) -> ResourceOut:
    return await service.create_resource(
        session=session, site_id=site_id, data=data, principal=principal
    )


@router.get(
    RESOURCES + "/{resource_id}",
    summary="Get a flexible resource",
    responses={404: {"description": "No such site or resource in your scope"}},
)
async def get_resource(
    site_id: SiteId, resource_id: ResourceId, principal: Reader, session: SessionDep
) -> ResourceOut:
    return await service.get_resource(
        session=session, site_id=site_id, resource_id=resource_id, principal=principal
    )


@router.patch(
    RESOURCES + "/{resource_id}",
    summary="Change a flexible resource",
    description="Fields given are changed; `params` fields are merged into the stored params "
    "and the whole is checked again for the resource's kind (which cannot change). "
    "`asset_id: null` removes the asset link.",
    responses={
        404: {"description": "No such site, resource or asset in your scope"},
        409: {"description": "Name already used on the site"},
    },
)
async def update_resource(
    site_id: SiteId,
    resource_id: ResourceId,
    data: ResourceUpdate,
    principal: Configurer,
    session: SessionDep,
) -> ResourceOut:
    return await service.update_resource(
        session=session, site_id=site_id, resource_id=resource_id, data=data, principal=principal
    )


@router.delete(
    RESOURCES + "/{resource_id}",
    status_code=204,
    summary="Delete a flexible resource",
    responses={404: {"description": "No such site or resource in your scope"}},
)
async def delete_resource(
    site_id: SiteId, resource_id: ResourceId, principal: Configurer, session: SessionDep
) -> Response:
    await service.delete_resource(
        session=session, site_id=site_id, resource_id=resource_id, principal=principal
    )
    return Response(status_code=204)


SCHEDULE = "/sites/{site_id}/schedule"


def _weather(request: Request) -> WeatherSource | None:
    """The forecast job's weather source, when one is configured."""
    return weather_of(request.app)


@router.post(
    SCHEDULE,
    summary="Plan the site's flexible resources now (day-ahead schedule)",
    description="Plans the enabled resources from the quarter hour holding now over "
    "`horizon_h` (24-48 h) in `step_min` steps on HiGHS: least energy cost (the site's "
    "versioned tariff in force at each step: import prices, and export prices from its "
    "`export_periods` / `export_rate_per_kwh`, or a flat `export_price_eur_per_kwh` given in "
    "the body overriding them), demand charge above the "
    "month's incumbent peak and battery wear, within the contract demand and the export limit, "
    "from the site's consumption and generation forecasts. The schedule is stored and "
    "answered with its savings against no battery and a rule-based controller. When no plan "
    "meets every constraint the answer is still 200: `status` `fallback`, `conflicts` naming "
    "what cannot be met, and the safe fallback plan. 409 when a forecast or the tariff is "
    "missing (`details.missing`).",
    responses={
        404: {"description": "No such site in your scope"},
        409: {"description": "A forecast or the tariff is missing"},
    },
)
async def plan_schedule(
    site_id: SiteId,
    request: Request,
    principal: Configurer,
    session: SessionDep,
    settings: SettingsDep,
    data: Annotated[ScheduleRequest | None, Body()] = None,
) -> ScheduleOut:
    return await service.plan_schedule(
        session=session,
        site_id=site_id,
        request=data or ScheduleRequest(),
        principal=principal,
        settings=settings,
        now_ms=now_ms(),
        weather=_weather(request),
    )


@router.get(
    SCHEDULE,
    summary="The site's latest stored schedule",
    responses={404: {"description": "No such site in your scope, or no schedule yet"}},
)
async def latest_schedule(site_id: SiteId, principal: Reader, session: SessionDep) -> ScheduleOut:
    return await service.get_latest_schedule(session=session, site_id=site_id, principal=principal)


SAVINGS_DESCRIPTION = """
What the site's operation cost per local day or month (the site's time zone, DST included)
against (a) the same demand without the batteries and (b) the rule-based self-consumption
controller on it. Computed from **re-priced actuals**: the site balance's measured 15-minute
grid import and export and battery charge and discharge, priced by the tariff valid in each
interval, demand charge on the rise of each controller's monthly peak, battery wear at the
resources' cycle cost, stored energy left over valued at the period's cheapest refill. With
the MPC dispatching the batteries this is the optimised operation; shifted loads stay where
they ran. Money: EUR decimal strings rounded half-even to the cent; savings are differences of
the rounded figures and `total` the sum of the periods. Periods run up to now
(`measured_intervals` of `intervals` were measured). See `docs/flexibility.md` (Savings).
"""


@router.get(
    "/sites/{site_id}/flex-savings",
    summary="Savings of the site's flexible operation per day or month",
    description=SAVINGS_DESCRIPTION,
    responses={
        404: {"description": "No such site in your scope"},
        409: {"description": "The site has no tariff to price its operation"},
        422: {"description": "A bad period, start or count"},
    },
)
async def flex_savings(
    site_id: SiteId,
    principal: Reader,
    session: SessionDep,
    period: Annotated[
        Literal["day", "month"], Query(description="Local days or calendar months")
    ] = "day",
    start: Annotated[
        date | None,
        Query(
            description="First local day (YYYY-MM-DD; for months, any day of the first "
            "month); default today / this month"
        ),
    ] = None,
    count: Annotated[
        int, Query(ge=1, le=31, description="How many periods: up to 31 days or 12 months")
    ] = 1,
) -> FlexSavingsOut:
    return await service.flex_savings(
        session=session, site_id=site_id, principal=principal, period=period, start=start,
        count=count, now_ms=now_ms(),
    )  # fmt: skip


router.include_router(shaving_router)  # real-time peak shaving, under the same prefix
router.include_router(prices_router)  # dynamic prices, under the same prefix
