"""What an administrator may administer: the users and keys of its own sites, never more.

The model: an administrator limited to some sites (``Principal.site_ids`` not None) administers
only the users and keys whose sites all lie within its own, and can give no one (itself included)
a scope beyond its own: not "all sites" (``site_ids`` None), not another site. Users and keys
outside its reach are 404 to it, as another site's objects are. An unrestricted administrator,
and the CLI (``actor`` None: whoever runs it owns the database), administer everything.
"""

from __future__ import annotations

from collections.abc import Collection

from gridpilot.auth.permissions import Principal
from gridpilot.core.errors import NotFound, PermissionDenied


def is_unrestricted(actor: Principal | None) -> bool:
    """True for the CLI and for principals that see every site."""
    return actor is None or actor.site_ids is None


def can_manage(actor: Principal | None, site_ids: Collection[int] | None) -> bool:
    """Whether ``actor`` administers a user or key whose scope is ``site_ids`` (None = all)."""
    if actor is None or actor.site_ids is None:
        return True
    return site_ids is not None and len(site_ids) > 0 and set(site_ids) <= actor.site_ids


def check_manage(actor: Principal | None, site_ids: Collection[int] | None, what: str) -> None:
    """``NotFound`` (as for another site's objects) when ``actor`` may not administer it."""
    if not can_manage(actor, site_ids):
        raise NotFound(f"{what} not found")


def check_grant(actor: Principal | None, site_ids: Collection[int] | None, what: str) -> None:
    """``PermissionDenied`` when ``actor`` would give ``what`` a scope beyond its own."""
    if actor is None or actor.site_ids is None:
        return
    if site_ids is None:
        raise PermissionDenied(
            f"you administer only sites {sorted(actor.site_ids)}: {what} must be limited to "
            "some of them (give site_ids)"
        )
    outside = sorted(set(site_ids) - actor.site_ids)
    if outside:
        raise PermissionDenied(f"sites {outside} are outside the sites you administer")
    if not site_ids:
        raise PermissionDenied(f"{what} needs at least one of the sites you administer")
