"""The assets domain's facade: every other domain reads sites, assets and metrics through
``gridpilot.assets.service`` (its code lives in ``service.py``, ``sites.py``, ``metrics.py`` and
``refs.py``)."""

from __future__ import annotations

import inspect

from gridpilot.assets import service


def test_public_surface_is_pinned():
    assert sorted(service.__all__) == [
        "AssetRef",
        "AssetSummary",
        "MetricRef",
        "WIA_ATTRIBUTES",
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
    assert all(hasattr(service, name) for name in service.__all__)


def test_services_take_a_keyword_only_session():
    for name in service.__all__:
        function = getattr(service, name)
        if inspect.iscoroutinefunction(function):
            session = inspect.signature(function).parameters["session"]
            assert session.kind is inspect.Parameter.KEYWORD_ONLY, name
