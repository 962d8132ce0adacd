"""HTTP routes of sites, assets, the metric catalogue and device keys (thin: see ``service``).

Reads need READ, writes CONFIGURE. Objects outside the caller's sites answer 404.
``asset.changed``/``metric.changed`` are published once the transaction has committed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Path, Query, Request, Response

from gridpilot.assets import service
from gridpilot.assets.events import publish_assets_changed, publish_metric_changed
from gridpilot.assets.schemas import (
    AssetCreate,
    AssetOut,
    AssetUpdate,
    DeviceKeyCreate,
    MetricCreate,
    MetricOut,
    SiteCreate,
    SiteOut,
    SiteUpdate,
    check_kind,
    check_role,
)
from gridpilot.auth import service as auth_service
from gridpilot.auth.dependencies import Configurer, Reader, api_key_cache
from gridpilot.auth.permissions import Role
from gridpilot.auth.revocation import rights_cache
from gridpilot.auth.schemas import ApiKeyCreated, ApiKeyOut
from gridpilot.core.dependencies import BusDep
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.db.dependencies import SessionDep

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=10_000, description="Page size")]
#: Ids are 32-bit in the database; larger numbers cannot name anything (422, not a DB error).
SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
AssetId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Offset = Annotated[int, Query(ge=0, le=10**9, description="Items to skip")]


# --- sites -------------------------------------------------------------------------------------


@router.get("/sites", tags=["sites"], summary="List the sites you may see")
async def list_sites(
    principal: Reader, session: SessionDep, limit: Limit = 1000, offset: Offset = 0
) -> list[SiteOut]:
    sites = await service.list_sites(
        session=session, principal=principal, limit=limit, offset=offset
    )
    return [SiteOut.model_validate(s) for s in sites]


@router.post("/sites", tags=["sites"], status_code=201, summary="Create a site")
async def create_site(data: SiteCreate, principal: Configurer, session: SessionDep) -> SiteOut:
    site = await service.create_site(session=session, principal=principal, data=data)
    return SiteOut.model_validate(site)


@router.get("/sites/{site_id}", tags=["sites"], summary="Get a site")
async def get_site(site_id: SiteId, principal: Reader, session: SessionDep) -> SiteOut:
    site = await service.get_site(session=session, site_id=site_id, principal=principal)
    return SiteOut.model_validate(site)


@router.patch("/sites/{site_id}", tags=["sites"], summary="Change some fields of a site")
async def update_site(
    site_id: SiteId, changes: SiteUpdate, principal: Configurer, session: SessionDep
) -> SiteOut:
    site = await service.update_site(
        session=session, site_id=site_id, principal=principal, changes=changes
    )
    return SiteOut.model_validate(site)


@router.delete(
    "/sites/{site_id}",
    tags=["sites"],
    status_code=204,
    summary="Delete a site with its assets and their readings",
)
async def delete_site(
    site_id: SiteId,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> Response:
    asset_ids = await service.delete_site(session=session, site_id=site_id, principal=principal)
    background.add_task(publish_assets_changed, bus, asset_ids, "deleted")
    return Response(status_code=204)


# --- assets ------------------------------------------------------------------------------------


@router.get("/assets", tags=["assets"], summary="List the assets you may see")
async def list_assets(
    principal: Reader,
    session: SessionDep,
    site_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
    kind: str | None = None,
    role: str | None = None,
    limit: Limit = 1000,
    offset: Offset = 0,
) -> list[AssetOut]:
    try:
        kinds = [check_kind(kind)] if kind is not None else None
        role = check_role(role) if role is not None else None
    except ValueError as exc:
        raise ValidationFailed(str(exc)) from None
    assets = await service.list_assets(
        session=session,
        principal=principal,
        site_id=site_id,
        kinds=kinds,
        role=role,
        limit=limit,
        offset=offset,
    )
    return [AssetOut.of(a) for a in assets]


@router.post("/assets", tags=["assets"], status_code=201, summary="Create an asset")
async def create_asset(
    data: AssetCreate,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> AssetOut:
    asset = await service.create_asset(session=session, principal=principal, data=data)
    background.add_task(publish_assets_changed, bus, [asset.id], "created")
    return AssetOut.of(asset)


@router.get("/assets/{asset_id}", tags=["assets"], summary="Get an asset")
async def get_asset(asset_id: AssetId, principal: Reader, session: SessionDep) -> AssetOut:
    asset = await service.get_asset(session=session, asset_id=asset_id, principal=principal)
    return AssetOut.of(asset)


@router.patch("/assets/{asset_id}", tags=["assets"], summary="Change some fields of an asset")
async def update_asset(
    asset_id: AssetId,
    changes: AssetUpdate,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> AssetOut:
    asset = await service.update_asset(
        session=session, asset_id=asset_id, principal=principal, changes=changes
    )
    background.add_task(publish_assets_changed, bus, [asset.id], "updated")
    return AssetOut.of(asset)


@router.delete(
    "/assets/{asset_id}",
    tags=["assets"],
    status_code=204,
    summary="Delete an asset with its device keys and readings",
)
async def delete_asset(
    asset_id: AssetId,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> Response:
    await service.delete_asset(session=session, asset_id=asset_id, principal=principal)
    background.add_task(publish_assets_changed, bus, [asset_id], "deleted")
    return Response(status_code=204)


# --- device keys -------------------------------------------------------------------------------


@router.post(
    "/assets/{asset_id}/keys",
    tags=["assets"],
    status_code=201,
    summary="Create a device key that may submit data for this asset only",
)
async def create_device_key(
    asset_id: AssetId,
    principal: Configurer,
    session: SessionDep,
    data: DeviceKeyCreate | None = None,
) -> ApiKeyCreated:
    """The raw key is in ``key`` and is shown only in this response (send it as X-API-Key)."""
    asset = await service.get_asset(session=session, asset_id=asset_id, principal=principal)
    name = (data.name if data is not None else None) or f"device {asset.name}"
    row, raw = await auth_service.create_api_key(
        session=session,
        name=name,
        role=Role.SERVICE,
        asset_id=asset.id,
        site_id=asset.site_id,
        created_by=principal.user_id,
    )
    return ApiKeyCreated(**ApiKeyOut.model_validate(row).model_dump(), key=raw)


@router.get("/assets/{asset_id}/keys", tags=["assets"], summary="List the asset's device keys")
async def list_device_keys(
    asset_id: AssetId, principal: Configurer, session: SessionDep
) -> list[ApiKeyOut]:
    """Key ids, names and use; never the secrets."""
    asset = await service.get_asset(session=session, asset_id=asset_id, principal=principal)
    keys = await auth_service.list_api_keys(session=session, asset_id=asset.id)
    return [ApiKeyOut.model_validate(k) for k in keys]


@router.delete(
    "/assets/{asset_id}/keys/{key_id}",
    tags=["assets"],
    status_code=204,
    summary="Revoke one of the asset's device keys",
)
async def revoke_device_key(
    asset_id: AssetId, key_id: str, request: Request, principal: Configurer, session: SessionDep
) -> Response:
    asset = await service.get_asset(session=session, asset_id=asset_id, principal=principal)
    keys = await auth_service.list_api_keys(session=session, asset_id=asset.id)
    if not any(k.key_id == key_id for k in keys):
        raise NotFound(f"asset {asset_id} has no key {key_id}")
    key = await auth_service.revoke_api_key(
        session=session, key_id=key_id, cache=api_key_cache(request.app)
    )
    await session.commit()
    rights_cache(request.app).forget_key(key.id)  # its client-credentials tokens end at once
    return Response(status_code=204)


# --- metric catalogue --------------------------------------------------------------------------


@router.get("/metrics", tags=["assets"], summary="The metric catalogue (built-in and user-defined)")
async def list_metrics(principal: Reader, session: SessionDep) -> list[MetricOut]:
    return [MetricOut.model_validate(m) for m in await service.list_metrics(session=session)]


@router.post("/metrics", tags=["assets"], status_code=201, summary="Define a metric")
async def create_metric(
    data: MetricCreate,
    principal: Configurer,
    session: SessionDep,
    bus: BusDep,
    background: BackgroundTasks,
) -> MetricOut:
    metric = await service.create_metric(session=session, data=data)
    background.add_task(publish_metric_changed, bus, metric.id, metric.key, "created")
    return MetricOut.model_validate(metric)
