"""TIP per plant and hour at every band edge, zonal PV bonus, capital-grant cut, excess split.
Reference values worked by hand from DM 414/2023 Allegato 1 (and the Emilia-Romagna region's
worked example: a North PV plant above 600 kW earns 70 to 110 EUR/MWh)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pytest

from gridpilot.analytics.community.excess_share import split_excess
from gridpilot.analytics.community.incentives import (
    DM_414_2023,
    CerParameters,
    pv_bonus_area,
    tip_eur_per_mwh,
    tip_rates_eur_per_mwh,
)
from gridpilot.analytics.community.parameters import ParameterVersion, resolve
from gridpilot.core.errors import ValidationFailed

D = Decimal
ARERA_2025 = ParameterVersion(
    "arera_valorisation_eur_per_mwh",
    D("10.57"),
    date(2025, 1, 1),
    None,
    datetime(2025, 1, 2, tzinfo=UTC),
)  # an example value, not ARERA's


@pytest.fixture(scope="module")
def params() -> CerParameters:
    versions = (*DM_414_2023, ARERA_2025)
    return CerParameters.from_values(resolve(versions, date(2025, 3, 1), date(2025, 4, 1)))


def tip(params, power_kw, pz, *, is_pv=False, area="other", grant=0):
    return tip_eur_per_mwh(
        params,
        power_kw=D(str(power_kw)),
        zonal_price_eur_per_mwh=D(str(pz)),
        is_pv=is_pv,
        area=area,
        grant_share=D(str(grant)),
    )


@pytest.mark.parametrize(
    ("power_kw", "at_180", "at_150", "at_0"),
    [
        # at Pz 180 the price term is 0: the base; at 150: base + 30 (capped); at 0: the cap
        ("1", 80, 110, 120),
        ("200", 80, 110, 120),  # exactly 200 kW: still the first band
        ("200.001", 70, 100, 110),
        ("600", 70, 100, 110),  # exactly 600 kW: still the second band
        ("600.001", 60, 90, 100),
        ("5000", 60, 90, 100),
    ],
)
def test_tip_at_every_band_edge(params, power_kw, at_180, at_150, at_0):
    assert tip(params, power_kw, 180) == at_180
    assert tip(params, power_kw, 150) == at_150
    assert tip(params, power_kw, 0) == at_0
    assert tip(params, power_kw, 250) == at_180  # above 180 the price term stays 0


@pytest.mark.parametrize(("area", "bonus"), [("north", 10), ("centre", 4), ("other", 0)])
def test_pv_bonus_is_added_outside_the_cap_and_only_for_pv(params, area, bonus):
    assert tip(params, 1000, 0, is_pv=True, area=area) == 100 + bonus
    assert tip(params, 1000, 180, is_pv=True, area=area) == 60 + bonus
    assert tip(params, 1000, 0, is_pv=False, area=area) == 100


def test_the_region_example_north_pv_above_600_kw_earns_70_to_110(params):
    area = pv_bonus_area("Emilia-Romagna")
    assert area == "north"
    assert tip(params, 900, 180, is_pv=True, area=area) == 70
    assert tip(params, 900, 140, is_pv=True, area=area) == 110
    assert tip(params, 900, 160, is_pv=True, area=area) == 90
    assert pv_bonus_area("Toscana") == "centre" and pv_bonus_area("Sicilia") == "other"


@pytest.mark.parametrize(
    ("grant", "factor"), [("0", "1"), ("0.10", "0.875"), ("0.20", "0.75"), ("0.40", "0.5")]
)
def test_capital_grant_cuts_linearly_to_half_at_40_percent(params, grant, factor):
    # 200 kW North PV at Pz 180: (80 + 10) x (1 - F), F = 0.5 x grant / 0.40
    assert tip(params, 200, 180, is_pv=True, area="north", grant=grant) == 90 * D(factor)
    assert tip(params, 201, 0, grant=grant) == 110 * D(factor)


def test_a_grant_above_40_percent_is_not_cumulable(params):
    with pytest.raises(ValidationFailed, match="not cumulable"):
        tip(params, 100, 100, grant="0.41")


def test_vector_rates_match_the_exact_formula(params):
    prices = np.array([-5.0, 0.0, 59.99, 60.0, 100.0, 139.5, 140.0, 179.99, 180.0, 400.0, np.nan])
    for power in ("3", "200", "450", "600", "601", "2000"):
        for is_pv, area, grant in (
            (True, "north", "0.3"),
            (False, "centre", "0"),
            (True, "centre", "0"),
        ):
            rates = tip_rates_eur_per_mwh(
                params, power_kw=D(power), zonal_price_eur_per_mwh=prices, is_pv=is_pv,
                area=area, grant_share=D(grant),
            )  # fmt: skip
            exact = [
                tip(params, power, repr(float(p)), is_pv=is_pv, area=area, grant=grant)
                for p in prices[:-1]
            ]
            assert rates[:-1] == pytest.approx([float(x) for x in exact], abs=1e-9)
            assert np.isnan(rates[-1])


def test_missing_parameters_are_named():
    with pytest.raises(ValidationFailed, match="arera_valorisation"):
        CerParameters.from_values({v.name: v.value for v in DM_414_2023})


def test_excess_above_55_percent_goes_apart():
    # 700 of 1000 kWh shared: 150 kWh above 55 %; 100.00 EUR x 150 / 700 = 21.428... -> 21.43
    split = split_excess(D("100.00"), shared_kwh=700, injected_kwh=1000, threshold=D("0.55"))
    assert split.shared_ratio == D("0.7")
    assert split.excess_kwh == 150
    assert (split.excess_eur, split.ordinary_eur) == (D("21.43"), D("78.57"))


def test_excess_threshold_is_45_percent_with_a_grant(params):
    threshold = params.excess_threshold_for(D("0.2"))
    assert threshold == D("0.45") and params.excess_threshold_for(0) == D("0.55")
    split = split_excess(D("100.00"), shared_kwh=700, injected_kwh=1000, threshold=threshold)
    assert (split.excess_kwh, split.excess_eur, split.ordinary_eur) == (250, D("35.71"), D("64.29"))


def test_no_excess_at_or_below_the_threshold():
    split = split_excess(D("80.00"), shared_kwh=550, injected_kwh=1000, threshold=D("0.55"))
    assert (split.excess_eur, split.ordinary_eur) == (D("0.00"), D("80.00"))
