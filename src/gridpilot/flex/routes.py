"""Flexibility routes under /api/v1: a site's flexible resources and its schedule.

Reading needs READ (viewers); writing CONFIGURE (operators and up). Another site's resources
and schedules answer 404. See ``docs/flexibility.md`` (API).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Response

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.db.dependencies import SessionDep
from gridpilot.flex import service
from gridpilot.flex.schemas import ResourceCreate, ResourceOut, ResourceUpdate

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
