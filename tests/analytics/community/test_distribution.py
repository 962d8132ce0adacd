"""The statute's distribution: parts that sum to the cent, deterministic ties, excess rule."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gridpilot.analytics.community.distribution import Statute, distribute, largest_remainder
from gridpilot.core.errors import ValidationFailed

D = Decimal


def test_equal_thirds_give_the_odd_cent_to_the_first_id():
    parts = largest_remainder(D("100.00"), {"c": 1, "a": 1, "b": 1})
    assert parts == {"a": D("33.34"), "b": D("33.33"), "c": D("33.33")}


def test_the_largest_remainders_get_the_cents_left():
    # 10.00 by 1:1:1:3 -> 1.6666, 1.6666, 1.6666, 5.00 -> floors 1.66 x3 + 5.00 = 9.98: two
    # cents left for the three equal remainders, ties to a then b.
    parts = largest_remainder(D("10.00"), {"a": 1, "b": 1, "c": 1, "d": 3})
    assert parts == {"a": D("1.67"), "b": D("1.67"), "c": D("1.66"), "d": D("5.00")}


def test_negative_amounts_split_symmetrically():
    assert largest_remainder(D("-1.00"), {"a": 1, "b": 2}) == {"a": D("-0.33"), "b": D("-0.67")}


def test_nothing_to_split_by_is_refused():
    with pytest.raises(ValidationFailed):
        largest_remainder(D("1.00"), {"a": 0})
    with pytest.raises(ValidationFailed):
        largest_remainder(D("1.001"), {"a": 1})


@given(
    cents=st.integers(min_value=0, max_value=10**9),
    weights=st.lists(
        st.decimals(min_value=0, max_value=10**6, places=3, allow_nan=False),
        min_size=1,
        max_size=30,
    ).filter(lambda w: sum(w) > 0),
)
def test_parts_always_sum_to_the_cent_and_stay_within_a_cent_of_the_exact_share(cents, weights):
    amount = D(cents) / 100
    ids = {f"m{i:02d}": w for i, w in enumerate(weights)}
    parts = largest_remainder(amount, ids)
    assert sum(parts.values()) == amount
    total_w = sum(weights)
    for key, w in ids.items():
        assert abs(parts[key] - amount * w / total_w) < D("0.01")


def test_a_statute_with_fees_reserve_producers_consumers_and_the_excess():
    statute = Statute(
        fees_eur={"platform": D("100.00")},
        reserve_share=D("0.10"),
        producer_share=D("0.30"),
        consumer_key="consumption",
    )
    out = distribute(
        statute,
        ordinary_eur=D("1000.00"),
        excess_eur=D("50.00"),
        members={"home": False, "shop": True, "school": False},
        consumption_kwh={"home": 100.0, "shop": 300.0, "school": 0.0},
        produced_shared_kwh={"school": 400.0},
    )
    # 1000 - 100 fee = 900; reserve 90.00; 810 left: producers 30 % = 243.00 (all to the
    # school), consumers 567.00 by consumption 1:3 -> 141.75 / 425.25; excess 50.00 only to
    # non-business members with consumption: the home.
    assert out.fees_eur == {"platform": D("100.00")} and out.reserve_eur == D("90.00")
    assert out.producer_eur == {"school": D("243.00")}
    assert out.consumer_eur == {"home": D("141.75"), "shop": D("425.25")}
    assert out.excess_eur == {"home": D("50.00")} and out.social_fund_eur == D("0.00")
    assert sum(out.lines().values()) == out.total_eur == D("1050.00")


def test_equal_and_share_pct_keys_and_excess_to_the_social_fund():
    members = {"a": False, "b": False, "c": True}
    equal = distribute(
        Statute(consumer_key="equal", excess_to_social_fund=True),
        ordinary_eur=D("10.00"), excess_eur=D("3.00"), members=members,
        consumption_kwh={}, produced_shared_kwh={},
    )  # fmt: skip
    assert equal.consumer_eur == {"a": D("3.34"), "b": D("3.33"), "c": D("3.33")}
    assert equal.social_fund_eur == D("3.00") and equal.excess_eur == {}
    pct = distribute(
        Statute(consumer_key="share_pct", share_pct={"a": D(50), "b": D(30), "c": D(20)}),
        ordinary_eur=D("10.00"), excess_eur=D("1.00"), members=members,
        consumption_kwh={}, produced_shared_kwh={},
    )  # fmt: skip
    assert pct.consumer_eur == {"a": D("5.00"), "b": D("3.00"), "c": D("2.00")}
    assert pct.excess_eur == {"a": D("0.63"), "b": D("0.37")}  # 50:30 among non-businesses


def test_fees_larger_than_the_benefit_are_reported_unpaid():
    out = distribute(
        Statute(fees_eur={"platform": D("30.00"), "bank": D("5.00")}),
        ordinary_eur=D("32.00"), excess_eur=D("0.00"), members={"a": False},
        consumption_kwh={"a": 1.0}, produced_shared_kwh={},
    )  # fmt: skip
    assert out.fees_eur == {"platform": D("30.00"), "bank": D("2.00")}
    assert out.fees_unpaid_eur == {"bank": D("3.00")}
    assert sum(out.lines().values()) == D("32.00")
