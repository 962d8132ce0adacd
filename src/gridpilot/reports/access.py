"""Who may see a report: the scope rule of the reports domain, and the scheduler's reader."""

from __future__ import annotations

from gridpilot.auth.permissions import Principal, Role
from gridpilot.core.errors import NotFound


def check_scope(principal: Principal, site_id: int) -> None:
    """``NotFound`` unless the principal sees the whole site (device keys see no reports)."""
    if principal.asset_ids is not None or not principal.can_see_site(site_id):
        raise NotFound("report not found")


def system_principal(site_id: int) -> Principal:
    """Who a scheduled run reads as: a viewer of the definition's site only."""
    return Principal(
        subject="system:reports", name="reports", role=Role.VIEWER, site_ids=frozenset({site_id})
    )
