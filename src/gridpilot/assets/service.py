"""The assets domain's facade, and the assets themselves: the only code that touches the
tables of sites, assets and metrics is here and in ``sites.py``, ``metrics.py`` and ``refs.py``,
which other domains reach through this module (``__all__``, pinned by
``tests/assets/test_service_exports.py``).

Scope: a principal limited to some sites gets ``NotFound`` for every other site's site and assets
(their existence is not disclosed); a device key sees only its own asset. Creating a site needs
an unrestricted principal (a site-limited user could not see the site it created).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import (
    ASSET_KINDS,
    INTERVAL_CONVENTION_KEY,
    SOURCE_ID_PATTERN,
    SOURCE_TYPE_KINDS,
    source_type_of,
)
from gridpilot.assets.metering import check_parent_meter, check_sub_meters
from gridpilot.assets.metrics import (
    MetricRef,
    create_metric,
    ensure_builtin_metrics,
    find_metric_ref,
    list_metrics,
    metric_refs,
)
from gridpilot.assets.models import Asset
from gridpilot.assets.refs import (
    AssetRef,
    AssetSummary,
    asset_refs,
    asset_summaries,
    find_asset_by_device_id,
    find_asset_ref,
)
from gridpilot.assets.schemas import AssetCreate, AssetFields, AssetMetadata, AssetUpdate
from gridpilot.assets.sites import (
    create_site,
    delete_site,
    get_site,
    list_sites,
    site_contracts,
    sites_by_id,
    update_site,
)
from gridpilot.auth import audit
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound, ValidationFailed
from gridpilot.core.units import capacity_to_kw

__all__ = [
    "WIA_ATTRIBUTES",
    "AssetRef",
    "AssetSummary",
    "MetricRef",
    "asset_refs",
    "asset_summaries",
    "can_see_asset",
    "create_asset",
    "create_metric",
    "create_site",
    "delete_asset",
    "delete_site",
    "ensure_builtin_metrics",
    "find_asset_by_device_id",
    "find_asset_ref",
    "find_metric_ref",
    "get_asset",
    "get_asset_by_source_id",
    "get_site",
    "list_assets",
    "list_metrics",
    "list_sites",
    "metric_refs",
    "site_contracts",
    "sites_by_id",
    "update_asset",
    "update_site",
]

#: Key of ``Asset.attributes`` reserved for the WIA surface (kept when attributes are replaced).
WIA_ATTRIBUTES = "wia"


def can_see_asset(principal: Principal, asset_id: int, site_id: int) -> bool:
    """True when ``principal`` may see asset ``asset_id`` of site ``site_id``."""
    if not principal.can_see_site(site_id):
        return False
    return principal.asset_ids is None or asset_id in principal.asset_ids


def _can_see_asset(principal: Principal, asset: Asset) -> bool:
    return can_see_asset(principal, asset.id, asset.site_id)


async def list_assets(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    kinds: Sequence[str] | None = None,
    role: str | None = None,
    sources_only: bool = False,
    limit: int = 1000,
    offset: int = 0,
    site_ids: Sequence[int] | None = None,
) -> list[Asset]:
    """Assets the principal may see, by id; ``sources_only`` keeps those with a WIA sourceId;
    ``site_ids``: only those sites' (one statement for many sites)."""
    query = select(Asset).order_by(Asset.id).limit(limit).offset(offset)
    if principal.site_ids is not None:
        query = query.where(Asset.site_id.in_(principal.site_ids))
    if principal.asset_ids is not None:
        query = query.where(Asset.id.in_(principal.asset_ids))
    if site_id is not None:
        query = query.where(Asset.site_id == site_id)
    if site_ids is not None:
        query = query.where(Asset.site_id.in_(list(site_ids)))
    if kinds is not None:
        query = query.where(Asset.kind.in_(kinds))
    if role is not None:
        query = query.where(Asset.role == role)
    if sources_only:
        query = query.where(Asset.source_id.is_not(None))
    return list((await session.scalars(query)).all())


async def get_asset(*, session: AsyncSession, asset_id: int, principal: Principal) -> Asset:
    """The asset ``asset_id``; ``NotFound`` when missing or out of the principal's scope."""
    asset = await session.get(Asset, asset_id)
    if asset is None or not _can_see_asset(principal, asset):
        raise NotFound(f"asset {asset_id} not found")
    return asset


async def get_asset_by_source_id(
    *, session: AsyncSession, source_id: str, principal: Principal
) -> Asset:
    """The asset with WIA ``source_id``; ``NotFound`` when missing or out of scope."""
    asset = None
    if re.fullmatch(SOURCE_ID_PATTERN, source_id):
        asset = await session.scalar(select(Asset).where(Asset.source_id == source_id))
    if asset is None or not _can_see_asset(principal, asset):
        raise NotFound(f"source {source_id} not found")
    return asset


def _check_source_kind(source_id: str | None, kind: str) -> None:
    if source_id is None:
        return
    source_type = source_type_of(source_id)
    expected = SOURCE_TYPE_KINDS[source_type]
    if kind != expected:
        raise ValidationFailed(
            f"sourceId type {source_type} belongs to kind {expected!r}, not {kind!r}"
        )


async def _check_unique(session: AsyncSession, asset: Asset) -> None:
    same_name = await session.scalar(
        select(Asset.id).where(Asset.site_id == asset.site_id, Asset.name == asset.name)
    )
    if same_name is not None and same_name != asset.id:
        raise Conflict(f"site {asset.site_id} already has an asset named {asset.name!r}")
    if asset.source_id is not None:
        same_source = await session.scalar(
            select(Asset.id).where(Asset.source_id == asset.source_id)
        )
        if same_source is not None and same_source != asset.id:
            raise Conflict(f"sourceId {asset.source_id} is already registered")


def _apply_metadata(asset: Asset, meta: AssetMetadata | None) -> None:
    """The metadata fields ``meta`` names (``AssetMetadata``; None clears them all)."""
    meta_fields = meta.model_fields_set if meta is not None else set()
    for field in ("manufacturer", "model", "serial_number"):
        if meta is None or field in meta_fields:
            setattr(asset, field, getattr(meta, field) if meta is not None else None)
    if meta is None or "certifications" in meta_fields:
        asset.certifications = list(meta.certifications) if meta is not None else []


def _apply_attributes(asset: Asset, given: dict[str, Any] | None) -> None:
    """Replace the attributes with ``given``, keeping the WIA attributes unless it sets them."""
    attributes: dict[str, Any] = dict(given or {})
    kept = (asset.attributes or {}).get(WIA_ATTRIBUTES)
    if kept is not None and WIA_ATTRIBUTES not in attributes:
        attributes[WIA_ATTRIBUTES] = kept
    asset.attributes = attributes


def _apply_fields(asset: Asset, data: AssetFields, fields: set[str]) -> None:
    """Copy the optional asset fields named in ``fields`` from ``data`` onto ``asset``."""
    if "rated_capacity_kw" in fields:
        asset.rated_capacity_kw = data.rated_capacity_kw
    if "rated_capacity" in fields:
        capacity = data.rated_capacity
        asset.rated_capacity_kw = (
            capacity_to_kw(capacity.value, capacity.unit) if capacity is not None else None
        )
    for field in ("source_id", "install_date", "operator", "expected_interval_s"):
        if field in fields:
            setattr(asset, field, getattr(data, field))
    if data.plausibility is not None:  # PATCH refuses null; create defaults to "reject"
        asset.plausibility = data.plausibility
    if "metadata" in fields:
        _apply_metadata(asset, data.metadata)
    if "attributes" in fields:
        _apply_attributes(asset, data.attributes)
    if data.interval_convention is not None:  # kept in attributes (no column)
        merged = dict(asset.attributes or {})
        merged[INTERVAL_CONVENTION_KEY] = data.interval_convention
        asset.attributes = merged


async def create_asset(*, session: AsyncSession, principal: Principal, data: AssetCreate) -> Asset:
    """A new asset on a site the principal may see; the role defaults from the kind."""
    await get_site(session=session, site_id=data.site_id, principal=principal)
    _check_source_kind(data.source_id, data.kind)
    asset = Asset(
        site_id=data.site_id,
        name=data.name,
        kind=data.kind,
        role=data.role or ASSET_KINDS[data.kind],
        plausibility="reject",
        certifications=[],
        attributes={},
    )
    _apply_fields(asset, data, set(data.model_fields_set))
    await _check_unique(session, asset)
    session.add(asset)
    await session.flush()
    await check_parent_meter(session=session, asset=asset, parent_id=data.parent_asset_id)
    asset.parent_asset_id = data.parent_asset_id
    await session.flush()
    target = f"asset:{asset.id}"
    await audit.record_change(session, principal, action="asset.create", target=target)
    return asset


async def update_asset(
    *, session: AsyncSession, asset_id: int, principal: Principal, changes: AssetUpdate
) -> Asset:
    """Apply the fields sent in ``changes`` (PATCH semantics); moving sites needs both in scope."""
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
    fields = set(changes.model_fields_set)
    if "site_id" in fields and changes.site_id is not None:
        await get_site(session=session, site_id=changes.site_id, principal=principal)
        asset.site_id = changes.site_id
    for field in ("name", "kind", "role"):
        if field in fields:
            setattr(asset, field, getattr(changes, field))
    _apply_fields(asset, changes, fields)
    if "parent_asset_id" in fields:
        asset.parent_asset_id = changes.parent_asset_id
    await check_parent_meter(session=session, asset=asset, parent_id=asset.parent_asset_id)
    if fields & {"role", "site_id"}:
        await check_sub_meters(session=session, asset=asset)
    _check_source_kind(asset.source_id, asset.kind)
    await _check_unique(session, asset)
    await session.flush()
    target = f"asset:{asset.id}"
    await audit.record_change(
        session, principal, action="asset.update", target=target, fields=fields
    )
    return asset


async def delete_asset(*, session: AsyncSession, asset_id: int, principal: Principal) -> None:
    """Delete the asset and its device keys; telemetry drops its readings on the event."""
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
    await session.execute(delete(Asset).where(Asset.id == asset.id))
    session.expunge(asset)
    await session.flush()
    await audit.record_change(session, principal, action="asset.delete", target=f"asset:{asset_id}")
