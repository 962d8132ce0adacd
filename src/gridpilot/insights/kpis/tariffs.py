"""Tariff versions of a site: list, add a version, and the versions that price a period.

A version is valid from ``valid_from_ms`` until the next version starts. Versions are append-only
and, unless ``backdate`` is asked for, start now or later: a tariff change never rewrites costs
already computed. A site's ``sites.tariff`` JSON (a simple single tariff living on the site)
prices everything before its first version (with no versions: everything), so the first version
does not unprice the past either. A tariff without a ``country`` field
takes its public holidays from the site's time zone (``Europe/Rome`` -> IT); ``"country": null``
means no holidays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.calendar_features import country_for_timezone
from gridpilot.analytics.tariffs import Tariff, parse_tariff
from gridpilot.assets.models import Site
from gridpilot.assets.service import get_site
from gridpilot.auth.permissions import Permission, Principal
from gridpilot.core.errors import Conflict, ValidationFailed
from gridpilot.core.timestamps import MAX_MS, now_ms
from gridpilot.insights.kpis.models import TariffVersion

#: Clock skew tolerated for a version "starting now" [ms].
NOW_SLACK_MS = 60_000


async def list_tariffs(
    *, session: AsyncSession, site_id: int, principal: Principal
) -> list[TariffVersion]:
    """The site's tariff versions, oldest first (``NotFound`` for a site out of scope)."""
    await get_site(session=session, site_id=site_id, principal=principal)
    query = (
        select(TariffVersion)
        .where(TariffVersion.site_id == site_id)
        .order_by(TariffVersion.valid_from_ms)
    )
    return list((await session.scalars(query)).all())


async def tariffs_by_site(
    *, session: AsyncSession, principal: Principal, site_ids: list[int]
) -> dict[int, list[TariffVersion]]:
    """The versions of each of ``site_ids`` the principal may see, oldest first, in one query
    (sites out of scope are left out, as ``list_tariffs`` would refuse them)."""
    principal.require(Permission.READ)
    allowed = principal.visible_sites(site_ids)
    found: dict[int, list[TariffVersion]] = {i: [] for i in allowed}
    if not allowed:
        return found
    query = (
        select(TariffVersion)
        .where(TariffVersion.site_id.in_(allowed))
        .order_by(TariffVersion.site_id, TariffVersion.valid_from_ms)
    )
    for row in (await session.scalars(query)).all():
        found[row.site_id].append(row)
    return found


async def create_tariff(
    *,
    session: AsyncSession,
    site_id: int,
    principal: Principal,
    valid_from_ms: int,
    definition: Mapping[str, Any],
    backdate: bool = False,
) -> TariffVersion:
    """Add a tariff version valid from ``valid_from_ms`` (needs CONFIGURE).

    Raises ``ValidationFailed`` for a bad definition or, without ``backdate``, a start in the
    past; ``Conflict`` when the start is not after the newest version's.
    """
    principal.require(Permission.CONFIGURE)
    await get_site(session=session, site_id=site_id, principal=principal)
    parse_tariff(definition)
    if not 0 <= valid_from_ms <= MAX_MS:
        raise ValidationFailed("valid_from must lie between 1970 and 9999")
    if not backdate and valid_from_ms < now_ms() - NOW_SLACK_MS:
        raise ValidationFailed(
            "valid_from lies in the past: that would change costs already reported; "
            "send backdate=true to correct the past deliberately"
        )
    versions = await list_tariffs(session=session, site_id=site_id, principal=principal)
    if versions and valid_from_ms <= versions[-1].valid_from_ms:
        raise Conflict(
            "tariff versions are append-only: valid_from must be after the newest version's"
        )
    version = TariffVersion(
        site_id=site_id,
        valid_from_ms=valid_from_ms,
        definition=dict(definition),
        created_by=principal.subject,
    )
    session.add(version)
    await session.flush()
    return version


async def pricing_versions(*, session: AsyncSession, site: Site) -> list[tuple[int, Tariff]]:
    """``(valid_from_ms, Tariff)`` of the site, oldest first; ``[]`` without any tariff.

    Raises ``ValidationFailed`` when the site's legacy ``tariff`` JSON is not a valid tariff.
    """
    query = (
        select(TariffVersion)
        .where(TariffVersion.site_id == site.id)
        .order_by(TariffVersion.valid_from_ms)
    )
    rows = (await session.scalars(query)).all()
    versions = [(row.valid_from_ms, with_country(row.definition, site)) for row in rows]
    if site.tariff and (not rows or rows[0].valid_from_ms > 0):
        versions.insert(0, (0, with_country(site.tariff, site)))
    return versions


def with_country(definition: Mapping[str, Any], site: Site) -> Tariff:
    """The tariff; without a ``country`` field, holidays are the site's time zone's country."""
    tariff = parse_tariff(definition)
    if "country" in definition:
        return tariff
    return replace(tariff, country=country_for_timezone(site.timezone))
