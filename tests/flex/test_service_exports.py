"""The flex domain's facade: what other domains (``dr``) and the routes call."""

from __future__ import annotations

import inspect

from gridpilot.flex import service


def test_public_surface_is_pinned():
    assert sorted(service.__all__) == [
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
    assert all(hasattr(service, name) for name in service.__all__)


def test_services_take_a_keyword_only_session():
    for name in service.__all__:
        function = getattr(service, name)
        if inspect.iscoroutinefunction(function):
            session = inspect.signature(function).parameters["session"]
            assert session.kind is inspect.Parameter.KEYWORD_ONLY, name
