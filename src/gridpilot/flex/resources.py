"""Flexible resources of a site: create, list, get, update, delete.

Scope: a resource belongs to its site; a principal that cannot see the site (or a device key,
which sees only its own asset) gets ``NotFound``. Writing needs CONFIGURE (operator and up).
``principal=None`` is an internal caller (a background job, or another domain's service that
has checked the caller itself, e.g. ``dr``): no scope check. Every params body is checked by
its kind's schema and then by the optimiser's own resource (``analytics.flex.resources``), so
a stored resource always makes a valid problem. Services flush; the caller commits.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.flex import Battery, CurtailableLoad, DeferrableLoad, EVSession
from gridpilot.assets.service import get_asset, get_site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed
from gridpilot.flex.models import FlexResource
from gridpilot.flex.schemas import (
    PARAMS_OF,
    BatteryParams,
    CurtailableLoadParams,
    DeferrableLoadParams,
    EVChargerParams,
    ResourceCreate,
    ResourceOut,
    ResourceParams,
    ResourceUpdate,
    overlapping_sessions,
)
from gridpilot.flex.windows import window_minutes
from gridpilot.insights.data import SYSTEM

#: Resources a site may have (bounds the size of a schedule's problem).
MAX_RESOURCES_PER_SITE = 50
#: Asset kinds a resource of each kind may be linked to (a kind not listed: any asset of the site).
ASSET_KINDS: dict[str, frozenset[str]] = {
    "battery": frozenset({"battery"}),
    "ev_charger": frozenset({"ev_charger"}),
    "pv_curtailment": frozenset({"solar_pv", "inverter"}),
}
#: Kinds whose linked asset gets the schedule's commands: one resource per asset.
COMMANDED_KINDS = frozenset({"battery", "ev_charger"})


def resource_out(row: FlexResource) -> ResourceOut:
    """The API/service view of a stored resource (params typed by kind)."""
    params = PARAMS_OF[row.kind].model_validate(row.params)
    return ResourceOut(
        id=row.id,
        site_id=row.site_id,
        kind=row.kind,
        name=row.name,
        asset_id=row.asset_id,
        enabled=row.enabled,
        auto_dispatch=row.auto_dispatch,
        params=params,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def check_with_core(name: str, params: ResourceParams) -> None:
    """Build the optimiser's resource from ``params``: ``ValidationFailed`` names the field."""
    if isinstance(params, BatteryParams):
        Battery(
            name,
            capacity_kwh=params.capacity_kwh,
            charge_max_kw=params.charge_max_kw,
            discharge_max_kw=params.discharge_max_kw,
            soc_start_frac=params.soc_start_pct / 100,
            soc_min_frac=params.soc_min_pct / 100,
            soc_max_frac=params.soc_max_pct / 100,
            soc_end_frac=None if params.soc_end_pct is None else params.soc_end_pct / 100,
            charge_efficiency=params.charge_efficiency,
            discharge_efficiency=params.discharge_efficiency,
            wear_cost_eur_per_kwh=params.cycle_cost_eur_per_kwh / 2,
        )
    elif isinstance(params, EVChargerParams):
        clash = overlapping_sessions([(s.arrival, s.departure) for s in params.sessions])
        if clash:
            raise ValidationFailed(f"EV charger {name!r}: {clash}")
        for i, session in enumerate(params.sessions):
            EVSession(
                f"{name} session {i + 1}",
                arrival_step=0,
                departure_step=1,
                energy_kwh=session.energy_kwh,
                power_max_kw=params.power_max_kw,
                power_min_kw=params.power_min_kw,
            )
    elif isinstance(params, DeferrableLoadParams):
        DeferrableLoad(
            name,
            energy_kwh=params.energy_kwh,
            power_max_kw=params.power_max_kw,
            power_min_kw=params.power_min_kw,
            interruptible=params.interruptible,
        )
        hours = window_minutes(params.window_start, params.window_end) / 60
        if params.energy_kwh > params.power_max_kw * hours + 1e-9:
            raise ValidationFailed(
                f"deferrable load {name!r}: {params.energy_kwh:g} kWh cannot fit its "
                f"{hours:g} h window at {params.power_max_kw:g} kW"
            )
    elif isinstance(params, CurtailableLoadParams):
        CurtailableLoad(name, max_shed_kw=params.shed_kw, cost_eur_per_kwh=params.cost_eur_per_kwh)


def validated_params(kind: str, name: str, raw: dict[str, Any]) -> ResourceParams:
    """``raw`` checked against ``kind``'s schema and the optimiser (422 with the reasons)."""
    try:
        params = PARAMS_OF[kind].model_validate(raw)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'params'}: {e['msg']}"
            for e in exc.errors()[:20]
        )
        raise ValidationFailed(f"{kind} params: {reasons}") from None
    check_with_core(name, params)
    return params


async def site_in_scope(session: AsyncSession, site_id: int, principal: Principal | None) -> None:
    """NotFound unless the site is in the principal's scope (a device key sees no site)."""
    await get_site(session=session, site_id=site_id, principal=principal or SYSTEM)
    if principal is None:
        return
    if principal.asset_ids is not None:  # a device key: its own asset only
        raise NotFound(f"site {site_id} not found")


async def _check_asset(
    session: AsyncSession, kind: str, site_id: int, asset_id: int, principal: Principal | None
) -> None:
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal or SYSTEM)
    if asset.site_id != site_id:
        raise ValidationFailed(f"asset {asset_id} is not on site {site_id}")
    allowed = ASSET_KINDS.get(kind)
    if allowed is not None and asset.kind not in allowed:
        raise ValidationFailed(
            f"a {kind} resource can be linked to an asset of kind {', '.join(sorted(allowed))}, "
            f"not {asset.kind!r}"
        )


async def _check_asset_free(
    session: AsyncSession, kind: str, asset_id: int, resource_id: int | None
) -> None:
    """One battery or EV charger resource per device: each gets its own commands (two
    resources on one asset would send it two set points for the same step)."""
    if kind not in COMMANDED_KINDS:
        return
    query = select(FlexResource.id, FlexResource.name).where(
        FlexResource.asset_id == asset_id, FlexResource.kind == kind
    )
    for other_id, other_name in (await session.execute(query)).all():
        if other_id != resource_id:
            raise Conflict(
                f"asset {asset_id} already carries the {kind.replace('_', ' ')} resource "
                f"{other_name!r} (id {other_id}): each device is one resource, with its own "
                "commands",
                details={"field": "asset_id", "resource_id": other_id},
            )


async def _check_name_free(
    session: AsyncSession, site_id: int, name: str, resource_id: int | None
) -> None:
    query = select(FlexResource.id).where(
        FlexResource.site_id == site_id, FlexResource.name == name
    )
    existing = await session.scalar(query)
    if existing is not None and existing != resource_id:
        raise Conflict(f"site {site_id} already has a flexible resource named {name!r}")


async def create_resource(
    *, session: AsyncSession, site_id: int, data: ResourceCreate, principal: Principal | None
) -> ResourceOut:
    """Add a flexible resource to a site (needs CONFIGURE)."""
    if principal is not None:
        principal.require(Permission.CONFIGURE)
    await site_in_scope(session, site_id, principal)
    params = validated_params(data.kind, data.name, data.params.model_dump())
    if data.asset_id is not None:
        await _check_asset(session, data.kind, site_id, data.asset_id, principal)
        await _check_asset_free(session, data.kind, data.asset_id, None)
    await _check_name_free(session, site_id, data.name, None)
    count = await session.scalar(
        select(func.count()).select_from(FlexResource).where(FlexResource.site_id == site_id)
    )
    if (count or 0) >= MAX_RESOURCES_PER_SITE:
        raise Conflict(f"a site may have at most {MAX_RESOURCES_PER_SITE} flexible resources")
    row = FlexResource(
        site_id=site_id,
        asset_id=data.asset_id,
        kind=data.kind,
        name=data.name,
        enabled=data.enabled,
        auto_dispatch=data.auto_dispatch,
        params=params.model_dump(mode="json"),
    )
    session.add(row)
    await session.flush()
    await session.refresh(row)
    return resource_out(row)


async def _rows(
    session: AsyncSession, site_id: int, kind: str | None, enabled_only: bool
) -> list[FlexResource]:
    query = select(FlexResource).where(FlexResource.site_id == site_id).order_by(FlexResource.id)
    if kind is not None:
        query = query.where(FlexResource.kind == kind)
    if enabled_only:
        query = query.where(FlexResource.enabled.is_(True))
    return list((await session.scalars(query)).all())


async def list_resources(
    *,
    session: AsyncSession,
    site_id: int,
    principal: Principal | None = None,
    kind: str | None = None,
    enabled_only: bool = False,
) -> list[ResourceOut]:
    """The site's flexible resources by id, optionally of one ``kind`` or only enabled ones."""
    await site_in_scope(session, site_id, principal)
    return [resource_out(r) for r in await _rows(session, site_id, kind, enabled_only)]


async def _row(
    session: AsyncSession, site_id: int, resource_id: int, principal: Principal | None
) -> FlexResource:
    await site_in_scope(session, site_id, principal)
    row = await session.get(FlexResource, resource_id)
    if row is None or row.site_id != site_id:
        raise NotFound(f"flexible resource {resource_id} not found on site {site_id}")
    return row


async def get_resource(
    *, session: AsyncSession, site_id: int, resource_id: int, principal: Principal | None = None
) -> ResourceOut:
    return resource_out(await _row(session, site_id, resource_id, principal))


async def update_resource(
    *,
    session: AsyncSession,
    site_id: int,
    resource_id: int,
    data: ResourceUpdate,
    principal: Principal | None,
) -> ResourceOut:
    """Change a resource; params are merged into the stored ones and checked as a whole."""
    if principal is not None:
        principal.require(Permission.CONFIGURE)
    row = await _row(session, site_id, resource_id, principal)
    fields = data.model_fields_set
    name = data.name if data.name is not None else row.name
    if data.name is not None and data.name != row.name:
        await _check_name_free(session, site_id, data.name, row.id)
    if data.params is not None:
        merged = {**row.params, **data.params}
        row.params = validated_params(row.kind, name, merged).model_dump(mode="json")
    if "asset_id" in fields:
        if data.asset_id is not None:
            await _check_asset(session, row.kind, site_id, data.asset_id, principal)
            await _check_asset_free(session, row.kind, data.asset_id, row.id)
        row.asset_id = data.asset_id
    row.name = name
    if data.enabled is not None:
        row.enabled = data.enabled
    if data.auto_dispatch is not None:
        row.auto_dispatch = data.auto_dispatch
    await session.flush()
    await session.refresh(row)
    return resource_out(row)


async def delete_resource(
    *, session: AsyncSession, site_id: int, resource_id: int, principal: Principal | None
) -> None:
    if principal is not None:
        principal.require(Permission.CONFIGURE)
    row = await _row(session, site_id, resource_id, principal)
    await session.delete(row)
    await session.flush()


async def auto_dispatch_sites(*, session: AsyncSession) -> list[int]:
    """Sites with an enabled resource that is re-planned and dispatched every 15 min (MPC)."""
    query = (
        select(FlexResource.site_id)
        .where(FlexResource.enabled.is_(True), FlexResource.auto_dispatch.is_(True))
        .distinct()
        .order_by(FlexResource.site_id)
    )
    return list((await session.scalars(query)).all())
