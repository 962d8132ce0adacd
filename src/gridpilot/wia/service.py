"""WIA-ENE-004 sources: Energy Source models <-> assets (through ``assets.service``).

A source is an asset with a WIA ``sourceId`` (kind from ``sourceType``, role producer). Without
the ``siteId`` extension a source gets a site of its own, named ``"<name> (<sourceId>)"``, made
from its ``location`` (timezone default UTC); the location of such a source *is* its site's.
A source placed on an existing site keeps its own ``location`` in ``attributes["wia"]``.
``ratedCapacity`` is stored in kW and answered in the unit it was given in.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets import service as assets
from gridpilot.assets.catalogue import SOURCE_TYPE_KINDS, source_type_of
from gridpilot.assets.models import Asset, Site
from gridpilot.assets.schemas import (
    AssetCreate,
    AssetMetadata,
    AssetUpdate,
    Capacity,
    SiteCreate,
    SiteUpdate,
)
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, PermissionDenied, ValidationFailed
from gridpilot.core.units import capacity_to_kw
from gridpilot.wia.schemas import (
    EnergySource,
    EnergySourceIn,
    Location,
    LocationOut,
    RatedCapacityOut,
    SourceMetadata,
    SourceMetadataOut,
)

WIA = assets.WIA_ATTRIBUTES
PRODUCER = "producer"


def _wia_attributes(asset: Asset) -> dict[str, Any]:
    value = (asset.attributes or {}).get(WIA)
    return dict(value) if isinstance(value, dict) else {}


def _significant(value: float) -> float:
    """Drop binary noise from unit conversion (``0.30000000000000004`` -> ``0.3``)."""
    return float(f"{value:.12g}")


def rated_capacity_of(asset: Asset) -> RatedCapacityOut | None:
    if asset.rated_capacity_kw is None:
        return None
    unit = _wia_attributes(asset).get("ratedCapacityUnit", "kW")
    if unit not in ("kW", "MW", "GW"):
        unit = "kW"
    value = _significant(asset.rated_capacity_kw / capacity_to_kw(1.0, unit))
    return RatedCapacityOut(value=value, unit=unit)


def location_of(asset: Asset, site: Site) -> LocationOut:
    """The source's own location (``attributes``, editable through ``/assets``: the site's
    when that is not a location), else its site's."""
    stored = _wia_attributes(asset).get("location")
    if isinstance(stored, dict):
        try:
            return LocationOut.model_validate(Location.model_validate(stored).model_dump())
        except ValidationError:
            pass
    return LocationOut(
        latitude=site.latitude,
        longitude=site.longitude,
        elevation=site.elevation_m,
        timezone=site.timezone,
    )


def to_energy_source(asset: Asset, site: Site) -> EnergySource:
    """The seed's Energy Source model of ``asset`` (plus ``id`` and ``siteId``)."""
    assert asset.source_id is not None
    return EnergySource(
        sourceId=asset.source_id,
        sourceType=source_type_of(asset.source_id),
        name=asset.name,
        ratedCapacity=rated_capacity_of(asset),
        location=location_of(asset, site),
        installDate=asset.install_date,
        operator=asset.operator,
        metadata=SourceMetadataOut(
            manufacturer=asset.manufacturer,
            model=asset.model,
            serialNumber=asset.serial_number,
            certifications=list(asset.certifications or []),
        ),
        id=asset.id,
        siteId=asset.site_id,
    )


def _check_type(data: EnergySourceIn) -> None:
    prefix = source_type_of(data.sourceId)
    if prefix != data.sourceType:
        raise ValidationFailed(
            f"sourceId {data.sourceId} is of type {prefix} but sourceType is {data.sourceType}",
            details={"sourceId": data.sourceId, "sourceType": data.sourceType},
        )


def own_site_name(data: EnergySourceIn) -> str:
    return f"{data.name} ({data.sourceId})"


def _site_location(location: Location | None) -> dict[str, Any]:
    loc = location or Location()
    return {
        "timezone": loc.timezone or "UTC",
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "elevation_m": loc.elevation,
    }


def _asset_values(data: EnergySourceIn, own_site: bool, previous: dict[str, Any]) -> dict[str, Any]:
    """The asset fields a source body sets (all of them: PUT replaces)."""
    wia = dict(previous)
    wia["ratedCapacityUnit"] = data.ratedCapacity.unit
    wia["ownSite"] = own_site
    wia.pop("location", None)
    if not own_site and data.location is not None:
        wia["location"] = data.location.model_dump()
    meta = data.metadata or SourceMetadata()
    return {
        "name": data.name,
        "rated_capacity": Capacity(value=data.ratedCapacity.value, unit=data.ratedCapacity.unit),
        "metadata": AssetMetadata(
            manufacturer=meta.manufacturer,
            model=meta.model,
            serial_number=meta.serialNumber,
            certifications=list(meta.certifications),
        ),
        "install_date": data.installDate,
        "operator": data.operator,
        "attributes": {WIA: wia},
    }


async def list_sources(
    *,
    session: AsyncSession,
    principal: Principal,
    source_type: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[EnergySource]:
    """Sources the principal may see, by id, optionally of one ``sourceType``."""
    kinds = [SOURCE_TYPE_KINDS[source_type]] if source_type is not None else None
    found = await assets.list_assets(
        session=session,
        principal=principal,
        kinds=kinds,
        sources_only=True,
        limit=limit,
        offset=offset,
    )
    sites = await assets.sites_by_id(session=session, site_ids=[a.site_id for a in found])
    return [to_energy_source(a, sites[a.site_id]) for a in found]


async def get_source_asset(
    *, session: AsyncSession, source_id: str, principal: Principal
) -> tuple[Asset, Site]:
    """The asset of ``source_id`` and its site; ``NotFound`` when missing or out of scope."""
    asset = await assets.get_asset_by_source_id(
        session=session, source_id=source_id, principal=principal
    )
    site = await assets.get_site(session=session, site_id=asset.site_id, principal=principal)
    return asset, site


async def create_source(
    *, session: AsyncSession, principal: Principal, data: EnergySourceIn
) -> EnergySource:
    """Register a source: an asset on ``siteId`` or on a new site made from its location."""
    _check_type(data)
    own_site = data.siteId is None
    if data.siteId is not None:
        site = await assets.get_site(session=session, site_id=data.siteId, principal=principal)
    else:
        if principal.site_ids is not None:
            raise PermissionDenied(
                "a user limited to some sites cannot create sites: give the siteId of one of them"
            )
        site = await assets.create_site(
            session=session,
            principal=principal,
            data=SiteCreate(name=own_site_name(data), **_site_location(data.location)),
        )
    asset = await assets.create_asset(
        session=session,
        principal=principal,
        data=AssetCreate(
            site_id=site.id,
            kind=SOURCE_TYPE_KINDS[data.sourceType],
            role=PRODUCER,
            source_id=data.sourceId,
            **_asset_values(data, own_site, {}),
        ),
    )
    return to_energy_source(asset, site)


async def replace_source(
    *, session: AsyncSession, source_id: str, principal: Principal, data: EnergySourceIn
) -> EnergySource:
    """PUT: replace every field of the source (absent optional fields become empty)."""
    if data.sourceId != source_id:
        raise ValidationFailed(
            f"sourceId in the body ({data.sourceId}) differs from the path ({source_id})"
        )
    _check_type(data)
    asset, site = await get_source_asset(session=session, source_id=source_id, principal=principal)
    previous = _wia_attributes(asset)
    own_site = bool(previous.get("ownSite")) and data.siteId in (None, site.id)
    if data.siteId is not None and data.siteId != site.id:
        site = await assets.get_site(session=session, site_id=data.siteId, principal=principal)
    if own_site:
        site = await assets.update_site(
            session=session,
            site_id=site.id,
            principal=principal,
            changes=SiteUpdate(name=own_site_name(data), **_site_location(data.location)),
        )
    asset = await assets.update_asset(
        session=session,
        asset_id=asset.id,
        principal=principal,
        changes=AssetUpdate(site_id=site.id, **_asset_values(data, own_site, previous)),
    )
    return to_energy_source(asset, site)


async def writable_source(
    *, session: AsyncSession, source_id: str, principal: Principal
) -> assets.AssetRef:
    """The source a principal submits production for: 404 out of its sites, 403 for a device
    key of another asset."""
    ref = await assets.find_asset_ref(session=session, ref=source_id)
    if ref is None or ref.source_id != source_id or not principal.can_see_site(ref.site_id):
        raise NotFound(f"source {source_id} not found")
    if not principal.can_write_asset(ref.id, ref.site_id):
        raise PermissionDenied("this key may only submit data for its own asset")
    return ref
