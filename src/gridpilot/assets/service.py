"""Sites, assets and the metric catalogue: the only module that touches their tables.

Scope: a principal limited to some sites gets ``NotFound`` for every other site's site and assets
(their existence is not disclosed); a device key sees only its own asset. Creating a site needs
an unrestricted principal (a site-limited user could not see the site it created).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import (
    ASSET_KINDS,
    BUILTIN_METRICS,
    METRIC_KEY_PATTERN,
    SOURCE_ID_PATTERN,
    SOURCE_TYPE_KINDS,
    source_type_of,
)
from gridpilot.assets.metering import check_parent_meter, check_sub_meters
from gridpilot.assets.models import Asset, Metric, Site
from gridpilot.assets.schemas import (
    AssetCreate,
    AssetFields,
    AssetUpdate,
    MetricCreate,
    SiteCreate,
    SiteUpdate,
)
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from gridpilot.core.units import capacity_to_kw, normalise_unit
from gridpilot.db.inserts import dialect_insert

#: Key of ``Asset.attributes`` reserved for the WIA surface (kept when attributes are replaced).
WIA_ATTRIBUTES = "wia"


@dataclass(frozen=True)
class AssetRef:
    """What ingestion needs to know about an asset, cheap to cache."""

    id: int
    site_id: int
    source_id: str | None
    role: str | None = None
    rated_capacity_kw: float | None = None
    plausibility: str = "reject"


#: The columns of an ``AssetRef``, in its order.
_REF_COLUMNS = (
    Asset.id,
    Asset.site_id,
    Asset.source_id,
    Asset.role,
    Asset.rated_capacity_kw,
    Asset.plausibility,
)


@dataclass(frozen=True)
class MetricRef:
    id: int
    key: str
    unit: str
    kind: str
    min_value: float | None
    max_value: float | None


# --- metric catalogue --------------------------------------------------------------------------


async def ensure_builtin_metrics(*, session: AsyncSession) -> None:
    """Insert the built-in metric catalogue entries that are missing (idempotent).

    Safe when several processes start at once: a key another process inserted meanwhile is
    skipped (``ON CONFLICT DO NOTHING``), not an error.
    """
    existing = set((await session.scalars(select(Metric.key))).all())
    missing = [
        {
            "key": spec.key,
            "unit": spec.unit,
            "kind": spec.kind,
            "description": spec.description,
            "min_value": spec.min_value,
            "max_value": spec.max_value,
            "builtin": True,
        }
        for spec in BUILTIN_METRICS
        if spec.key not in existing
    ]
    if not missing:
        return
    await session.execute(
        dialect_insert(session)(Metric)
        .values(missing)
        .on_conflict_do_nothing(index_elements=["key"])
    )


async def asset_refs(*, session: AsyncSession) -> list[AssetRef]:
    """Every asset's id, site, WIA sourceId and plausibility inputs (for ingestion's cache)."""
    rows = await session.execute(select(*_REF_COLUMNS))
    return [AssetRef(*row) for row in rows]


async def metric_refs(*, session: AsyncSession) -> list[MetricRef]:
    """Every catalogue metric (built-in and user-defined)."""
    rows = await session.scalars(select(Metric))
    return [_metric_ref(m) for m in rows.all()]


def _metric_ref(m: Metric) -> MetricRef:
    return MetricRef(m.id, m.key, m.unit, m.kind, m.min_value, m.max_value)


async def find_metric_ref(*, session: AsyncSession, key: str) -> MetricRef | None:
    """The catalogue entry ``key``, or None."""
    if not re.fullmatch(METRIC_KEY_PATTERN, key):
        return None
    metric = await session.scalar(select(Metric).where(Metric.key == key))
    return _metric_ref(metric) if metric is not None else None


async def list_metrics(*, session: AsyncSession) -> list[Metric]:
    """The whole catalogue, built-ins first, then by key."""
    rows = await session.scalars(select(Metric).order_by(Metric.builtin.desc(), Metric.key))
    return list(rows.all())


async def create_metric(*, session: AsyncSession, data: MetricCreate) -> Metric:
    """Add a user-defined metric; ``Conflict`` when the key exists."""
    if await session.scalar(select(Metric.id).where(Metric.key == data.key)) is not None:
        raise Conflict(f"metric {data.key!r} already exists")
    metric = Metric(
        key=data.key,
        unit=normalise_unit(data.unit),
        kind=data.kind,
        description=data.description,
        min_value=data.min_value,
        max_value=data.max_value,
        builtin=False,
    )
    session.add(metric)
    await session.flush()
    return metric


# --- sites -------------------------------------------------------------------------------------


async def list_sites(
    *, session: AsyncSession, principal: Principal, limit: int = 1000, offset: int = 0
) -> list[Site]:
    """Sites the principal may see, by id."""
    query = select(Site).order_by(Site.id).limit(limit).offset(offset)
    if principal.site_ids is not None:
        query = query.where(Site.id.in_(principal.site_ids))
    return list((await session.scalars(query)).all())


async def get_site(*, session: AsyncSession, site_id: int, principal: Principal) -> Site:
    """The site ``site_id``; ``NotFound`` when missing or out of the principal's scope."""
    site = await session.get(Site, site_id) if principal.can_see_site(site_id) else None
    if site is None:
        raise NotFound(f"site {site_id} not found")
    return site


async def _check_site_name_free(session: AsyncSession, name: str, site_id: int | None) -> None:
    existing = await session.scalar(select(Site.id).where(Site.name == name))
    if existing is not None and existing != site_id:
        raise Conflict(f"a site named {name!r} already exists")


async def _check_parent(
    session: AsyncSession, parent_id: int, site_id: int | None, principal: Principal
) -> None:
    """The parent must be visible and must not be the site itself or one of its descendants."""
    seen: set[int] = set()
    current: int | None = parent_id
    while current is not None and current not in seen:
        if current == site_id:
            raise ValidationFailed("parent_id would make the site its own ancestor")
        seen.add(current)
        parent = await get_site(session=session, site_id=current, principal=principal)
        current = parent.parent_id


async def create_site(*, session: AsyncSession, principal: Principal, data: SiteCreate) -> Site:
    """A new site. Only principals not limited to some sites may create sites."""
    if principal.site_ids is not None:
        raise PermissionDenied("a user limited to some sites cannot create sites")
    await _check_site_name_free(session, data.name, None)
    if data.parent_id is not None:
        await _check_parent(session, data.parent_id, None, principal)
    site = Site(**data.model_dump())
    session.add(site)
    await session.flush()
    return site


async def update_site(
    *, session: AsyncSession, site_id: int, principal: Principal, changes: SiteUpdate
) -> Site:
    """Apply the fields sent in ``changes`` (PATCH semantics)."""
    site = await get_site(session=session, site_id=site_id, principal=principal)
    values = changes.model_dump(exclude_unset=True)
    if "name" in values:
        await _check_site_name_free(session, values["name"], site.id)
    if values.get("parent_id") is not None:
        await _check_parent(session, values["parent_id"], site.id, principal)
    for field, value in values.items():
        setattr(site, field, value)
    await session.flush()
    return site


async def delete_site(*, session: AsyncSession, site_id: int, principal: Principal) -> list[int]:
    """Delete the site and (by cascade) its assets and their keys; returns the deleted asset ids.

    Child sites are kept (their ``parent_id`` becomes null).
    """
    site = await get_site(session=session, site_id=site_id, principal=principal)
    asset_ids = list(
        (await session.scalars(select(Asset.id).where(Asset.site_id == site.id))).all()
    )
    await session.execute(delete(Asset).where(Asset.site_id == site.id))
    await session.execute(delete(Site).where(Site.id == site.id))
    session.expunge(site)
    await session.flush()
    return asset_ids


# --- assets ------------------------------------------------------------------------------------


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


async def find_asset_ref(*, session: AsyncSession, ref: int | str) -> AssetRef | None:
    """An asset by numeric id (int or digit string) or by WIA sourceId; None when unknown."""
    if isinstance(ref, int) or (ref.isascii() and ref.isdigit()):
        if not 0 < int(ref) < 2**31:
            return None
        query = select(*_REF_COLUMNS).where(Asset.id == int(ref))
    elif re.fullmatch(SOURCE_ID_PATTERN, ref):
        query = select(*_REF_COLUMNS).where(Asset.source_id == ref)
    else:
        return None
    row = (await session.execute(query)).first()
    return AssetRef(*row) if row else None


async def find_asset_by_device_id(*, session: AsyncSession, device_id: str) -> AssetRef | None:
    """The one asset whose ``attributes["device_id"]`` is ``device_id``; None when no asset or
    several assets claim it (ambiguous)."""
    query = (
        select(*_REF_COLUMNS)
        .where(Asset.attributes["device_id"].as_string() == device_id)
        .order_by(Asset.id)
        .limit(2)
    )
    rows = (await session.execute(query)).all()
    if len(rows) != 1:
        return None
    return AssetRef(*rows[0])


@dataclass(frozen=True)
class AssetSummary:
    """An asset as rule evaluation sees it (expected interval in s)."""

    id: int
    site_id: int
    name: str
    kind: str
    role: str
    expected_interval_s: float | None


async def asset_summaries(*, session: AsyncSession) -> list[AssetSummary]:
    """Every asset, by id (no scope check: for background jobs)."""
    rows = await session.execute(
        select(
            Asset.id, Asset.site_id, Asset.name, Asset.kind, Asset.role, Asset.expected_interval_s
        ).order_by(Asset.id)
    )
    return [AssetSummary(*row) for row in rows]


async def site_contracts(*, session: AsyncSession) -> list[tuple[int, str, float | None]]:
    """(id, name, contract demand [kW]) of every site (no scope check: for background jobs)."""
    rows = await session.execute(select(Site.id, Site.name, Site.contract_demand_kw))
    return [(row.id, row.name, row.contract_demand_kw) for row in rows]


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
        meta = data.metadata
        meta_fields = meta.model_fields_set if meta is not None else set()
        for field in ("manufacturer", "model", "serial_number"):
            if meta is None or field in meta_fields:
                setattr(asset, field, getattr(meta, field) if meta is not None else None)
        if meta is None or "certifications" in meta_fields:
            asset.certifications = list(meta.certifications) if meta is not None else []
    if "attributes" in fields:
        attributes: dict[str, Any] = dict(data.attributes or {})
        kept = (asset.attributes or {}).get(WIA_ATTRIBUTES)
        if kept is not None and WIA_ATTRIBUTES not in attributes:
            attributes[WIA_ATTRIBUTES] = kept
        asset.attributes = attributes


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
    return asset


async def delete_asset(*, session: AsyncSession, asset_id: int, principal: Principal) -> None:
    """Delete the asset and its device keys; telemetry drops its readings on the event."""
    asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
    await session.execute(delete(Asset).where(Asset.id == asset.id))
    session.expunge(asset)
    await session.flush()


async def sites_by_id(*, session: AsyncSession, site_ids: Sequence[int]) -> dict[int, Site]:
    """Sites by id (no scope check: for callers that already checked their assets' scope)."""
    if not site_ids:
        return {}
    rows = await session.scalars(select(Site).where(Site.id.in_(set(site_ids))))
    return {site.id: site for site in rows.all()}
