"""A month's settlement of a three-member community, worked by hand (February 2025, 672 h).

P (a 100 kW PV plant in the North, non-business member) injects 10 kWh in UTC hours 8-15 of
every day; H (household) draws 4 kWh and B (business) 2 kWh in every hour. Pz NORD = 100.

* shared = min(10, 6) = 6 kWh in 8 h x 28 days = 1344 kWh; injected 2240 kWh (ratio 0.6);
* TIP = min(120, 80 + 180 - 100) + 10 = 130 EUR/MWh -> 1.344 MWh x 130 = 174.72 EUR;
* excess above 55 %: 1344 - 0.55 x 2240 = 112 kWh -> 174.72 x 112 / 1344 = 14.56 EUR;
* ARERA valorisation (example value 10.57 EUR/MWh): 1.344 x 10.57 = 14.206 -> 14.21 EUR;
* GSE estimate 174.72 + 14.21 = 188.93 EUR;
* statute: platform fee 20.00, reserve 10 %, producers 20 %, consumers by consumption:
  ordinary 160.16 + 14.21 = 174.37 - 20.00 = 154.37; reserve 15.44; 138.93 left; producers
  27.79 (P); consumers 111.14 by 896 : 448 kWh -> H 74.09, B 37.05 (the odd cent to the
  larger remainder); the excess 14.56 to H only (B is a business, P has no consumption).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from gridpilot.analytics.community.configuration import Member, Plant, Pod
from gridpilot.analytics.community.distribution import Statute
from gridpilot.analytics.community.incentives import DM_414_2023, CerParameters
from gridpilot.analytics.community.parameters import ParameterVersion, add_version, resolve
from gridpilot.analytics.community.settlement import month_bounds_utc, settle_month
from gridpilot.core.errors import Conflict, ValidationFailed

D = Decimal
ARERA = "arera_valorisation_eur_per_mwh"
VERSIONS = (
    *DM_414_2023,
    ParameterVersion(ARERA, D("10.57"), date(2025, 1, 1), None, datetime(2025, 1, 2, tzinfo=UTC)),
)
PV = Plant(power_kw=D(100), commissioned_on=date(2024, 9, 1), is_pv=True, area="north")
PODS = [
    Pod("IT001E0000P", "P", "AC-1", "NORD", True, PV),
    Pod("IT001E0000H", "H", "AC-1", "NORD"),
    Pod("IT001E0000B", "B", "AC-1", "NORD"),
]
MEMBERS = [Member("P"), Member("H"), Member("B", business=True)]
STATUTE = Statute(
    fees_eur={"platform": D("20.00")}, reserve_share=D("0.10"), producer_share=D("0.20")
)


def data(freq: str = "h"):
    start, end = month_bounds_utc(2025, 2)
    index = pd.date_range(start, end, freq=freq, inclusive="left")
    per_hour = 4 if freq == "15min" else 1
    producing = (index.hour >= 8) & (index.hour < 16)
    injected = pd.DataFrame(
        {
            "IT001E0000P": np.where(producing, 10.0, 0.0) / per_hour,
            "IT001E0000H": 0.0,
            "IT001E0000B": 0.0,
        },
        index=index,
    )
    withdrawn = pd.DataFrame(
        {"IT001E0000P": 0.0, "IT001E0000H": 4.0 / per_hour, "IT001E0000B": 2.0 / per_hour},
        index=index,
    )
    prices = pd.DataFrame(
        {"NORD": 100.0, "SUD": 50.0}, index=pd.date_range(start, end, freq="h", inclusive="left")
    )
    return injected, withdrawn, prices


def settle(injected, withdrawn, prices, versions=VERSIONS):
    params = CerParameters.from_values(resolve(versions, date(2025, 2, 1), date(2025, 3, 1)))
    return settle_month(
        year=2025, month=2, pods=PODS, members=MEMBERS, injected_kwh=injected,
        withdrawn_kwh=withdrawn, zonal_prices=prices, params=params, statute=STATUTE,
    )  # fmt: skip


def test_month_settlement_matches_the_hand_computation():
    s = settle(*data())
    assert len(s.shared.hours) == 672 and s.shared.coverage == {"AC-1": 1.0}
    assert s.shared.total_kwh("AC-1") == pytest.approx(1344.0)
    (line,) = s.plants
    assert (line.injected_kwh, line.shared_kwh) == (2240.0, 1344.0)
    assert line.incentive_eur == D("174.72")
    assert (line.excess.excess_eur, line.excess.ordinary_eur) == (D("14.56"), D("160.16"))
    assert s.valorisation_eur == D("14.21") and s.gse_estimate_eur == D("188.93")
    assert s.consumption_kwh == pytest.approx({"P": 0.0, "H": 896.0, "B": 448.0})
    d = s.distribution
    assert d.fees_eur == {"platform": D("20.00")} and d.reserve_eur == D("15.44")
    assert d.producer_eur == {"P": D("27.79")}
    assert d.consumer_eur == {"H": D("74.09"), "B": D("37.05")}
    assert d.excess_eur == {"H": D("14.56")}
    assert sum(d.lines().values()) == s.gse_estimate_eur


def test_quarter_hour_data_give_the_same_settlement():
    assert settle(*data("15min")).distribution == settle(*data()).distribution


def test_the_settlement_is_reproducible_whatever_the_pod_order():
    injected, withdrawn, prices = data()
    first = settle(injected, withdrawn, prices)
    reordered = settle(injected.iloc[:, ::-1], withdrawn.iloc[:, ::-1], prices)
    assert reordered.distribution == first.distribution
    assert reordered.plants == first.plants


def test_a_missing_hour_counts_for_nothing_and_is_listed():
    injected, withdrawn, prices = data()
    hole = pd.Timestamp("2025-02-10T12:00Z")
    withdrawn.loc[hole, "IT001E0000H"] = np.nan
    s = settle(injected, withdrawn, prices)
    assert s.shared.missing_hours["AC-1"] == [hole]
    assert s.shared.coverage["AC-1"] == pytest.approx(671 / 672)
    assert s.shared.total_kwh("AC-1") == pytest.approx(1338.0)
    assert s.plants[0].injected_kwh == 2230.0  # the plant's injection of that hour is left out too


def test_a_missing_price_in_a_sharing_hour_is_an_error():
    injected, withdrawn, prices = data()
    prices.loc[pd.Timestamp("2025-02-03T09:00Z"), "NORD"] = np.nan
    with pytest.raises(ValidationFailed, match="no NORD zonal price for 1 hour"):
        settle(injected, withdrawn, prices)


def test_a_later_parameter_version_leaves_a_closed_month_unchanged():
    before = settle(*data())
    closed = date(2025, 2, 28)
    retro = ParameterVersion(
        ARERA, D("12.00"), date(2025, 2, 1), None, datetime(2025, 3, 20, tzinfo=UTC)
    )
    with pytest.raises(Conflict):
        add_version(VERSIONS, retro, closed_through=closed)
    march = ParameterVersion(
        ARERA, D("12.00"), date(2025, 3, 1), None, datetime(2025, 3, 20, tzinfo=UTC)
    )
    after = settle(*data(), versions=add_version(VERSIONS, march, closed_through=closed))
    assert after.gse_estimate_eur == before.gse_estimate_eur
    assert after.distribution == before.distribution


def test_a_march_settlement_covers_the_743_hours_of_the_dst_month():
    start, end = month_bounds_utc(2025, 3)
    assert (start, end) == (pd.Timestamp("2025-02-28T23:00Z"), pd.Timestamp("2025-03-31T22:00Z"))
    assert (end - start) / pd.Timedelta(hours=1) == 743
