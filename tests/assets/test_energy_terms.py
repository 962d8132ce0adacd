"""Every asset role says which site-balance terms its energy and power metrics feed."""

from __future__ import annotations

from gridpilot.analytics.site_balance import TERMS
from gridpilot.assets.catalogue import ASSET_KINDS, ASSET_ROLES, ENERGY_TERMS, POWER_TERMS


def test_every_role_maps_its_metrics_onto_balance_terms():
    assert set(ENERGY_TERMS) == set(ASSET_ROLES) == set(POWER_TERMS)
    for role in ASSET_ROLES:
        assert set(ENERGY_TERMS[role].values()) <= set(TERMS), role
        for positive, negative in POWER_TERMS[role].values():
            assert positive in TERMS and (negative is None or negative in TERMS), role


def test_both_directions_of_the_connection_point_and_storage_are_covered():
    for role in ("grid_connection", "prosumer"):
        assert {"import", "export"} <= set(ENERGY_TERMS[role].values())
        assert POWER_TERMS[role]["power_kw"] == ("import", "export")
    assert set(ENERGY_TERMS["storage"].values()) == {"charge", "discharge"}
    # the energy-community seed's message lands on a prosumer without configuration
    assert ENERGY_TERMS["prosumer"]["energy_produced_kwh"] == "generation"
    assert ENERGY_TERMS["prosumer"]["energy_consumed_kwh"] == "consumption"


def test_a_grid_connection_asset_gets_its_own_role_by_default():
    assert ASSET_KINDS["grid_connection"] == "grid_connection"
    assert set(ASSET_KINDS.values()) <= set(ASSET_ROLES)
