"""What a forecast is of: a site total or one asset, with its calendar and location
(``Target``), resolved within a principal's scope."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.catalogue import GENERATION_ROLES
from gridpilot.assets.service import get_asset, get_site
from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, ValidationFailed
from gridpilot.insights.data import SYSTEM
from gridpilot.insights.forecasts.generation import Generator, physical_generator
from gridpilot.insights.forecasts.weather import SiteLocation


@dataclass(frozen=True)
class Target:
    """What is forecast: a site total (``asset_id`` None) or one asset, and its calendar."""

    site_id: int
    asset_id: int | None
    timezone: str
    location: SiteLocation
    #: A generator (PV, wind): its daily profile follows the sun (UTC), not the wall clock.
    generator: bool = False
    #: The asset's role (None for a site).
    role: str | None = None
    #: The asset's physical model (PV, wind), when it has one.
    physical: Generator | None = None


async def resolve_target(
    *,
    session: AsyncSession,
    principal: Principal,
    site_id: int | None = None,
    asset_id: int | None = None,
) -> Target:
    """The site or asset as a ``Target``; ``NotFound`` when missing or out of scope (a site for a
    principal limited to some assets, as the balance answers)."""
    asset = None
    if asset_id is not None:
        asset = await get_asset(session=session, asset_id=asset_id, principal=principal)
        site_id = asset.site_id
    if site_id is None:
        raise ValidationFailed("a site or an asset is needed")
    site = await get_site(session=session, site_id=site_id, principal=principal)
    if asset_id is None and principal.asset_ids is not None:  # a device key: its asset only
        raise NotFound(f"site {site_id} not found")
    location = SiteLocation(site.id, site.latitude, site.longitude)
    if asset is None:
        return Target(site.id, asset_id, site.timezone, location)
    generator = asset.role in GENERATION_ROLES
    physical = physical_generator(asset, location)
    return Target(site.id, asset_id, site.timezone, location, generator, asset.role, physical)


async def site_target(*, session: AsyncSession, site_id: int) -> Target:
    """A site's target for background jobs (sees every site)."""
    return await resolve_target(session=session, principal=SYSTEM, site_id=site_id)
