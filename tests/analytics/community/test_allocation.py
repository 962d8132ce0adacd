"""Allocation of an hour's shared energy to plants: GSE order by commissioning date, pro rata."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from gridpilot.analytics.community.allocation import by_commissioning_date, pro_rata_injection
from gridpilot.analytics.community.configuration import Plant


def plant(day: date) -> Plant:
    return Plant(power_kw=100, commissioned_on=day)


PLANTS = [("POD-B", plant(date(2024, 6, 1))), ("POD-A", plant(date(2020, 1, 1)))]


def test_the_earliest_plant_is_served_first_up_to_its_injection():
    shared = np.array([5.0, 2.0, 9.0])
    injected = np.array([[4.0, 3.0], [4.0, 3.0], [6.0, 3.0]])  # columns: B (2024), A (2020)
    got = by_commissioning_date(shared, injected, PLANTS)
    # hour 0: A takes its 3, B the remaining 2; hour 1: A takes 2; hour 2: A 3, B 6.
    assert got.tolist() == [[2.0, 3.0], [0.0, 2.0], [6.0, 3.0]]


def test_same_day_plants_are_ordered_by_pod_code():
    same = [("POD-Z", plant(date(2024, 1, 1))), ("POD-Y", plant(date(2024, 1, 1)))]
    got = by_commissioning_date(np.array([1.0]), np.array([[5.0, 5.0]]), same)
    assert got.tolist() == [[0.0, 1.0]]


def test_pro_rata_splits_by_injection_in_the_hour():
    got = pro_rata_injection(np.array([5.0, 0.0]), np.array([[4.0, 3.0], [0.0, 0.0]]), PLANTS)
    assert got[0] == pytest.approx([5 * 4 / 7, 5 * 3 / 7])
    assert got[1].tolist() == [0.0, 0.0]


@pytest.mark.parametrize("rule", [by_commissioning_date, pro_rata_injection])
def test_every_rule_gives_all_the_shared_energy_and_no_plant_more_than_it_injected(rule):
    rng = np.random.default_rng(3)
    injected = rng.uniform(0, 10, (200, 2))
    shared = np.minimum(injected.sum(axis=1), rng.uniform(0, 15, 200))
    got = rule(shared, injected, PLANTS)
    assert got.sum(axis=1) == pytest.approx(shared)
    assert (got <= injected + 1e-12).all() and (got >= 0).all()
