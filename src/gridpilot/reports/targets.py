"""What a report is of (its *target*) and who may see it: a site, a device group or an energy
community. A definition and each of its runs have exactly one (a CHECK constraint).

| target | periods in | who sees it (else 404) | who defines and runs it |
|---|---|---|---|
| site | the site's zone | a principal of the site | + CONFIGURE |
| group | the definition's ``timezone`` (given, or the one zone of the members' sites) | a principal of every site of the members: 403 ``group_out_of_scope`` when some are out of its scope, 404 when none are in (the groups domain's rule) | + CONFIGURE |
| community | Europe/Rome (the settlements' calendar) | an administrator or an admin of the community; a report naming one member (``params.member_id``) also that member | + CONFIGURE and community admin (403 otherwise) |

A run of a group records the sites it read (``report_run_sites``): reading the run and its files
needs every one of them, whatever the group's members are now. Device keys see no report.
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.assets.models import Asset, Site
from gridpilot.assets.service import get_site, sites_by_id
from gridpilot.auth.permissions import Permission, Principal, Role
from gridpilot.community.access import MARKET_TZ, community_access
from gridpilot.core.errors import GridpilotError, NotFound, ValidationFailed
from gridpilot.groups import service as groups
from gridpilot.reports.models import ReportDefinition

SITE, GROUP, COMMUNITY = "site", "group", "community"
#: The zone of community reports: settlements are months of the Italian calendar.
COMMUNITY_ZONE = MARKET_TZ.key


class TimezoneRequired(ValidationFailed):
    code = "report_timezone_required"


class TargetUnsupported(ValidationFailed):
    code = "report_target_unsupported"


@dataclass(frozen=True)
class Target:
    """A report's target as the caller may see it: ``sites`` are the sites whose data it reads
    (a site: itself; a group: its members' sites now, by id; a community: none, its figures come
    from the stored settlement), ``members`` a group's assets now."""

    kind: str
    id: int
    name: str
    timezone: str
    sites: tuple[Site, ...] = ()
    members: tuple[Asset, ...] = ()

    @property
    def site(self) -> Site:
        """The site of a site report."""
        if self.kind != SITE:
            raise TargetUnsupported(f"this report is of a {self.kind}, not of a site")
        return self.sites[0]

    @property
    def label(self) -> str:
        """For people: ``site Roma``, ``group Batteries (3 sites)``, ``community CER Sole``."""
        if self.kind == GROUP:
            count = len(self.sites)
            return f"group {self.name} ({count} site{'s' if count != 1 else ''})"
        return f"{self.kind} {self.name}"


def kind_of(definition: ReportDefinition) -> tuple[str, int]:
    """(``site``, ``group`` or ``community``, its id) of a definition."""
    if definition.group_id is not None:
        return GROUP, definition.group_id
    if definition.community_id is not None:
        return COMMUNITY, definition.community_id
    assert definition.site_id is not None
    return SITE, definition.site_id


def check_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(f"unknown time zone {name[:64]!r}") from None
    return name


def _member_id(definition: ReportDefinition) -> int | None:
    value = (definition.params or {}).get("member_id")
    return int(value) if isinstance(value, int) else None


async def resolve(
    *,
    session: AsyncSession,
    principal: Principal,
    definition: ReportDefinition,
    manage: bool = False,
    stored: bool = True,
) -> Target:
    """The definition's target as ``principal`` may see it (``manage``: may also change and run
    it). ``NotFound`` when it may not see it (a stored definition's is "report not found", so
    its existence is not disclosed), ``GroupOutOfScope`` (403) for part of a group,
    ``PermissionDenied`` (403) for a community it sees but does not administer."""
    if manage:
        principal.require(Permission.CONFIGURE)
    if principal.asset_ids is not None:
        raise NotFound("report not found")
    kind, target_id = kind_of(definition)
    try:
        if kind == SITE:
            return await _site(session, principal, target_id)
        if kind == GROUP:
            return await _group(session, principal, definition, target_id)
        return await _community(session, principal, definition, target_id, manage)
    except NotFound:
        if stored:
            raise NotFound("report not found") from None
        raise


async def _site(session: AsyncSession, principal: Principal, site_id: int) -> Target:
    site = await get_site(session=session, site_id=site_id, principal=principal)
    return Target(SITE, site.id, site.name, site.timezone, (site,))


async def _group(
    session: AsyncSession, principal: Principal, definition: ReportDefinition, group_id: int
) -> Target:
    group = await groups.get_group(session=session, principal=principal, group_id=group_id)
    await groups.check_full_scope(session=session, principal=principal, group=group)
    members = await groups.member_assets(session=session, group=group, principal=principal)
    found = await sites_by_id(session=session, site_ids=[a.site_id for a in members])
    sites = tuple(found[i] for i in sorted(found))
    zone = definition.timezone
    if zone is None:  # a new definition: the one zone of its sites
        zones = {s.timezone for s in sites}
        if len(zones) != 1:
            raise TimezoneRequired(
                "the group's sites are in several time zones (or it has no members): name the "
                f"timezone of the report's periods (zones: {', '.join(sorted(zones)) or '-'})"
            )
        zone = zones.pop()
    return Target(GROUP, group.id, group.name, zone, sites, tuple(members))


async def _community(
    session: AsyncSession,
    principal: Principal,
    definition: ReportDefinition,
    community_id: int,
    manage: bool,
) -> Target:
    access = await community_access(session, principal, community_id, manage=manage)
    member = _member_id(definition)
    if not (access.sees_all or (member is not None and access.sees_member(member))):
        raise NotFound("report not found")
    return Target(COMMUNITY, community_id, access.community.name, COMMUNITY_ZONE)


async def may_see(
    *, session: AsyncSession, principal: Principal, definition: ReportDefinition
) -> bool:
    """Whether ``principal`` may read the definition (no exception)."""
    try:
        await resolve(session=session, principal=principal, definition=definition)
    except GridpilotError:
        return False
    return True


async def zone_of(*, session: AsyncSession, definition: ReportDefinition) -> str:
    """The zone of the definition's periods (no scope check: the scheduler's)."""
    if definition.site_id is not None:
        site = await session.get(Site, definition.site_id)
        assert site is not None
        return site.timezone
    return definition.timezone or COMMUNITY_ZONE


def run_sites_visible(principal: Principal, site_ids: Sequence[int]) -> bool | None:
    """Whether a group run reading ``site_ids`` may be read: True (all in scope), None (none:
    404), False (some: 403)."""
    if principal.asset_ids is not None:
        return None
    inside = [s for s in site_ids if principal.can_see_site(s)]
    if not inside:
        return None
    return len(inside) == len(site_ids)


def system_principal(definition: ReportDefinition) -> Principal:
    """Who a scheduled run reads as: a viewer of the site only (a site report); a viewer of
    every site for a group (the builder reads only its members' sites; a dynamic group may
    reach any site); the community calendar needs an administrator, who reads only the
    community's stored settlement."""
    subject, name = "system:reports", "reports"
    if definition.site_id is not None:
        sites = frozenset({definition.site_id})
        return Principal(subject=subject, name=name, role=Role.VIEWER, site_ids=sites)
    if definition.group_id is not None:
        return Principal(subject=subject, name=name, role=Role.VIEWER)
    return Principal(subject=subject, name=name, role=Role.ADMINISTRATOR)
