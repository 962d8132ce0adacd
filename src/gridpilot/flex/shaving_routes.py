"""Peak shaving routes under /api/v1/sites/{site_id}/peak-shaving (``docs/flexibility.md``).

Reading needs READ (viewers), writing CONFIGURE (operators and up); another site answers 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.timestamps import now_ms
from gridpilot.db.dependencies import SessionDep
from gridpilot.flex import service
from gridpilot.flex.shaving_schemas import PeakShavingActionOut, PeakShavingIn, PeakShavingOut

router = APIRouter(tags=["flexibility"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
EpochMs = Annotated[int | None, Query(ge=0, le=2**53, description="Epoch milliseconds")]
PATH = "/sites/{site_id}/peak-shaving"

PUT_DESCRIPTION = """
Keeps the site's grid import at or under `threshold_kw` with a battery, reacting to each
reading of the meter within seconds (`docs/flexibility.md`, "Real-time peak shaving"). Above the
threshold the battery discharges the excess; below `recharge_below_kw` (default: the
threshold) it recharges without lifting the import above that level; discharging stops at
`soc_min_pct` and resumes above `soc_min_pct + soc_hysteresis_pct`. When the battery resource
is auto-dispatched, the MPC schedule's step is followed and shaving only adds what keeps the
import under the threshold. A manual command on the battery wins until it expires.

422 with `details.reason`: `no_battery_resource`, `several_batteries`, `not_a_battery`,
`battery_without_asset`, `no_grid_meter`, `several_grid_meters`, `meter_not_on_site`,
`not_a_meter`, `soc_band`; a threshold <= 0 or a recharge level above it is refused by the
body's validation.
"""


@router.get(
    PATH,
    summary="A site's peak shaving settings",
    responses={404: {"description": "No such site in your scope, or no peak shaving set up"}},
)
async def get_peak_shaving(
    site_id: SiteId, principal: Reader, session: SessionDep
) -> PeakShavingOut:
    return await service.get_peak_shaving(
        session=session, site_id=site_id, principal=principal, now_ms=now_ms()
    )


@router.put(
    PATH,
    summary="Set up or change a site's real-time peak shaving",
    description=PUT_DESCRIPTION,
    responses={
        201: {"description": "Created", "model": PeakShavingOut},
        404: {"description": "No such site in your scope"},
        422: {"description": "A battery or meter that cannot serve, or bad figures"},
    },
)
async def put_peak_shaving(
    site_id: SiteId,
    data: PeakShavingIn,
    response: Response,
    principal: Configurer,
    session: SessionDep,
) -> PeakShavingOut:
    out, created = await service.put_peak_shaving(
        session=session, site_id=site_id, data=data, principal=principal, now_ms=now_ms()
    )
    response.status_code = 201 if created else 200
    return out


@router.delete(
    PATH,
    status_code=204,
    summary="Stop and delete a site's peak shaving",
    description="The battery keeps its last command until that command's duration ends "
    "(at most `GRIDPILOT_PEAK_SHAVING_HOLD_S`); the log of actions stays.",
    responses={404: {"description": "No such site in your scope, or no peak shaving set up"}},
)
async def delete_peak_shaving(
    site_id: SiteId, principal: Configurer, session: SessionDep
) -> Response:
    await service.delete_peak_shaving(session=session, site_id=site_id, principal=principal)
    return Response(status_code=204)


@router.get(
    PATH + "/actions",
    summary="What the peak-shaving controller did on a site, newest first",
    description="Each command it sent (measured import, battery power, set point, the "
    "schedule's base, reason) and each time it held back (a manual command in force, a "
    "command control refused). Kept 30 days.",
    responses={404: {"description": "No such site in your scope"}},
)
async def list_actions(
    site_id: SiteId,
    principal: Reader,
    session: SessionDep,
    since_ms: EpochMs = None,
    until_ms: EpochMs = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 100,
) -> list[PeakShavingActionOut]:
    return await service.list_shaving_actions(
        session=session, site_id=site_id, principal=principal, since_ms=since_ms,
        until_ms=until_ms, limit=limit,
    )  # fmt: skip
