"""The flex domain's services: a site's flexible resources and its schedule.

Every function takes a keyword-only ``session`` and flushes (the caller commits). Other
domains (``dr``) call these, never the tables: ``list_resources(session=..., site_id=...)``
gives a site's resources as ``schemas.ResourceOut`` with typed ``params`` per kind.
"""

from __future__ import annotations

from gridpilot.flex import storage_plan  # noqa: F401  (registers batteries' plans, issue #21)
from gridpilot.flex.inputs import measured_soc_pct
from gridpilot.flex.resources import (
    MAX_RESOURCES_PER_SITE,
    create_resource,
    delete_resource,
    get_resource,
    list_resources,
    resource_out,
    update_resource,
    validated_params,
)
from gridpilot.flex.savings import flex_savings
from gridpilot.flex.schedules import get_latest_schedule, plan_schedule
from gridpilot.flex.shaving import (
    delete_peak_shaving,
    get_peak_shaving,
    put_peak_shaving,
)
from gridpilot.flex.shaving import list_actions as list_shaving_actions

__all__ = [
    "MAX_RESOURCES_PER_SITE",
    "create_resource",
    "delete_peak_shaving",
    "delete_resource",
    "flex_savings",
    "get_latest_schedule",
    "get_peak_shaving",
    "get_resource",
    "list_resources",
    "list_shaving_actions",
    "measured_soc_pct",
    "plan_schedule",
    "put_peak_shaving",
    "resource_out",
    "update_resource",
    "validated_params",
]
