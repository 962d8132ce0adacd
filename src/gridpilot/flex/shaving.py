"""A site's real-time peak shaving settings and the log of its actions (services).

One settings row per site (``PUT`` creates or replaces it). The battery is one of the site's
flexible resources of kind ``battery`` linked to an asset (the commands go to that asset); its
limits (``charge_max_kw``, ``discharge_max_kw``, ``soc_min_pct``, ``soc_max_pct``) are read
from the resource each time, so a change of the resource applies at once. The grid import is
one series of a meter of the site: by default ``power_kw`` of the site's only
``grid_connection`` asset. Reading needs READ, writing CONFIGURE; another site answers 404.
Services flush; the caller commits. The runtime is ``shaving_runtime.py``.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset
from gridpilot.assets.service import get_asset, list_assets
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.core.timestamps import MS_PER_DAY, from_ms
from gridpilot.flex.models import PeakShavingAction, PeakShavingConfig
from gridpilot.flex.resources import list_resources
from gridpilot.flex.schemas import BatteryParams, ResourceOut
from gridpilot.flex.shaving_schemas import PeakShavingActionOut, PeakShavingIn, PeakShavingOut
from gridpilot.insights.data import SYSTEM

#: Roles whose reading cannot be a grid import.
NOT_A_METER = frozenset({"storage", "producer"})
#: Actions are kept this long [ms].
ACTIONS_KEEP_MS = 30 * MS_PER_DAY


def _refused(message: str, field: str, reason: str) -> ValidationFailed:
    return ValidationFailed(message, details={"field": field, "reason": reason})


async def _battery(
    session: AsyncSession, site_id: int, resource_id: int | None, principal: Principal | None
) -> ResourceOut:
    """The site's battery resource ``resource_id`` (or its only one), linked to an asset."""
    batteries = await list_resources(
        session=session, site_id=site_id, principal=principal, kind="battery"
    )
    if resource_id is not None:
        found = [r for r in batteries if r.id == resource_id]
        if not found:
            raise _refused(
                f"resource {resource_id} is not a battery resource of site {site_id}",
                "resource_id", "not_a_battery",
            )  # fmt: skip
        batteries = found
    if not batteries:
        raise _refused(
            f"site {site_id} has no battery resource: add one under "
            f"/api/v1/sites/{site_id}/flex-resources first",
            "resource_id", "no_battery_resource",
        )  # fmt: skip
    if len(batteries) > 1:
        names = ", ".join(f"{r.id} ({r.name})" for r in batteries)
        raise _refused(
            f"site {site_id} has several battery resources ({names}): give resource_id",
            "resource_id", "several_batteries",
        )  # fmt: skip
    battery = batteries[0]
    if battery.asset_id is None:
        raise _refused(
            f"battery resource {battery.name!r} is linked to no asset: commands need one "
            "(PATCH its asset_id)",
            "resource_id", "battery_without_asset",
        )  # fmt: skip
    return battery


async def _meter(
    session: AsyncSession, site_id: int, meter_id: int | None, battery: ResourceOut
) -> Asset:
    if meter_id is None:
        found = await list_assets(
            session=session, principal=SYSTEM, site_id=site_id, role="grid_connection"
        )
        if len(found) != 1:
            raise _refused(
                f"site {site_id} has {len(found)} grid_connection assets: give meter_asset_id, "
                "the meter whose reading is the grid import",
                "meter_asset_id", "no_grid_meter" if not found else "several_grid_meters",
            )  # fmt: skip
        return found[0]
    try:
        meter = await get_asset(session=session, asset_id=meter_id, principal=SYSTEM)
    except NotFound:
        meter = None
    if meter is None or meter.site_id != site_id:
        raise _refused(
            f"asset {meter_id} is not on site {site_id}", "meter_asset_id", "meter_not_on_site"
        )
    if meter.role in NOT_A_METER or meter.id == battery.asset_id:
        raise _refused(
            f"asset {meter_id} ({meter.role}) cannot measure the grid import: give the main "
            "meter (grid_connection) or a meter of the whole site",
            "meter_asset_id", "not_a_meter",
        )  # fmt: skip
    return meter


def config_out(row: PeakShavingConfig, battery: ResourceOut, *, now_ms: int) -> PeakShavingOut:
    params = battery.params
    assert isinstance(params, BatteryParams)
    running = row.lease_owner if row.enabled and row.lease_until_ms > now_ms else None
    return PeakShavingOut(
        site_id=row.site_id,
        enabled=row.enabled,
        threshold_kw=row.threshold_kw,
        recharge_below_kw=row.recharge_below_kw,
        resource_id=battery.id,
        resource_name=battery.name,
        battery_asset_id=battery.asset_id,
        meter_asset_id=row.meter_asset_id,
        meter_metric=row.meter_metric,
        soc_min_pct=params.soc_min_pct if row.soc_min_pct is None else row.soc_min_pct,
        soc_max_pct=params.soc_max_pct,
        soc_hysteresis_pct=row.soc_hysteresis_pct,
        deadband_kw=row.deadband_kw,
        discharge_max_kw=params.discharge_max_kw,
        charge_max_kw=params.charge_max_kw,
        discharge_blocked=row.discharge_blocked,
        running_in=running,
        updated_by=row.updated_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def _row(session: AsyncSession, site_id: int, principal: Principal | None) -> tuple[
    PeakShavingConfig, ResourceOut
]:  # fmt: skip
    batteries = await list_resources(
        session=session, site_id=site_id, principal=principal, kind="battery"
    )
    row = await session.get(PeakShavingConfig, site_id)
    battery = next((r for r in batteries if row is not None and r.id == row.resource_id), None)
    if row is None or battery is None:
        raise NotFound(
            f"site {site_id} has no peak shaving: PUT /api/v1/sites/{site_id}/peak-shaving "
            "sets it up"
        )
    return row, battery


async def get_peak_shaving(
    *, session: AsyncSession, site_id: int, principal: Principal | None, now_ms: int
) -> PeakShavingOut:
    row, battery = await _row(session, site_id, principal)
    return config_out(row, battery, now_ms=now_ms)


async def put_peak_shaving(
    *,
    session: AsyncSession,
    site_id: int,
    data: PeakShavingIn,
    principal: Principal,
    now_ms: int,
) -> tuple[PeakShavingOut, bool]:
    """Create or replace the site's settings; whether they were created. 422 (``details``:
    ``field``, ``reason``) for a battery or meter that cannot serve, or a SOC floor at or above
    the battery's ceiling."""
    principal.require(Permission.CONFIGURE)
    battery = await _battery(session, site_id, data.resource_id, principal)
    meter = await _meter(session, site_id, data.meter_asset_id, battery)
    params = battery.params
    assert isinstance(params, BatteryParams)
    soc_min = params.soc_min_pct if data.soc_min_pct is None else data.soc_min_pct
    if soc_min >= params.soc_max_pct:
        raise _refused(
            f"soc_min_pct {soc_min:g} must be below the battery's soc_max_pct "
            f"{params.soc_max_pct:g}",
            "soc_min_pct", "soc_band",
        )  # fmt: skip
    row = await session.get(PeakShavingConfig, site_id)
    created = row is None
    if row is None:
        row = PeakShavingConfig(site_id=site_id, lease_until_ms=0, discharge_blocked=False)
        session.add(row)
    row.resource_id, row.meter_asset_id, row.meter_metric = battery.id, meter.id, data.meter_metric
    row.enabled, row.threshold_kw = data.enabled, data.threshold_kw
    row.recharge_below_kw, row.soc_min_pct = data.recharge_below_kw, data.soc_min_pct
    row.soc_hysteresis_pct, row.deadband_kw = data.soc_hysteresis_pct, data.deadband_kw
    row.updated_by = principal.subject
    await session.flush()
    await session.refresh(row)
    return config_out(row, battery, now_ms=now_ms), created


async def delete_peak_shaving(*, session: AsyncSession, site_id: int, principal: Principal) -> None:
    """Delete the settings (the log stays until it ages out)."""
    principal.require(Permission.CONFIGURE)
    row, _ = await _row(session, site_id, principal)
    await session.delete(row)
    await session.flush()


def action_out(row: PeakShavingAction) -> PeakShavingActionOut:
    return PeakShavingActionOut(
        id=row.id,
        ts=from_ms(row.ts_ms),
        ts_ms=row.ts_ms,
        grid_import_kw=row.grid_import_kw,
        battery_power_kw=row.battery_power_kw,
        soc_pct=row.soc_pct,
        setpoint_kw=row.setpoint_kw,
        base_kw=row.base_kw,
        reason=row.reason,
        command_id=row.command_id,
        detail=row.detail,
    )


async def list_actions(
    *,
    session: AsyncSession,
    site_id: int,
    principal: Principal | None,
    since_ms: int | None = None,
    until_ms: int | None = None,
    limit: int = 100,
) -> list[PeakShavingActionOut]:
    """The controller's actions on the site, newest first (``[since, until)``, epoch ms)."""
    await list_resources(session=session, site_id=site_id, principal=principal, kind="battery")
    query = select(PeakShavingAction).where(PeakShavingAction.site_id == site_id)
    if since_ms is not None:
        query = query.where(PeakShavingAction.ts_ms >= since_ms)
    if until_ms is not None:
        query = query.where(PeakShavingAction.ts_ms < until_ms)
    query = query.order_by(PeakShavingAction.ts_ms.desc(), PeakShavingAction.id.desc())
    rows = (await session.scalars(query.limit(limit))).all()
    return [action_out(r) for r in rows]


async def prune_actions(*, session: AsyncSession, now_ms: int) -> None:
    await session.execute(
        delete(PeakShavingAction).where(PeakShavingAction.ts_ms < now_ms - ACTIONS_KEEP_MS)
    )
