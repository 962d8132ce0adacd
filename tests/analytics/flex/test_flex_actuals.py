"""Measured flows re-priced against no battery and the rule-based controller, by hand."""

from __future__ import annotations

import numpy as np
import pytest

from gridpilot.analytics.flex import Battery
from gridpilot.analytics.flex.actuals import Measured, reprice

NAN = float("nan")
#: 10 kWh, lossless, full band, 20 kW both ways, starting at 1 kWh.
BATTERY = Battery("b", capacity_kwh=10, charge_max_kw=20, discharge_max_kw=20,
                  soc_start_frac=0.1, soc_min_frac=0.0, soc_max_frac=1.0,
                  charge_efficiency=1.0, discharge_efficiency=1.0)  # fmt: skip


def _day() -> Measured:
    """Site demand 2 kWh per quarter hour; the battery charges 2 kWh at 0.10 EUR/kWh (import
    4 kWh) and gives them back at 0.40 (import 0); a third interval was not measured."""
    return Measured(
        step_h=0.25,
        import_kwh=np.array([4.0, 0.0, NAN]),
        export_kwh=np.array([0.0, 0.0, NAN]),
        charge_kwh=np.array([2.0, 0.0, NAN]),
        discharge_kwh=np.array([0.0, 2.0, NAN]),
        price_eur_per_kwh=np.array([0.10, 0.40, 0.40]),
    )


def test_one_period_by_hand():
    [cost] = reprice(_day(), BATTERY, period_of=np.array([0, 0, 0]), periods=1)
    # actual: 4 kWh x 0.10; the battery ends where it began
    assert cost.actual_eur == pytest.approx(0.40)
    # no battery: 2 kWh x 0.10 + 2 kWh x 0.40
    assert cost.no_battery_eur == pytest.approx(1.00)
    # rule-based: spends its 1 kWh at once (import 1 x 0.10), then 2 x 0.40, and the kWh it
    # took is refilled at the cheapest price, 0.10
    assert cost.rule_based_eur == pytest.approx(0.10 + 0.80 + 0.10)
    assert (cost.intervals, cost.measured) == (3, 2)


def test_days_carry_the_running_peak_and_their_own_refill_price():
    first, second = reprice(_day(), BATTERY, period_of=np.array([0, 1, 1]), periods=2,
                            demand_charge_eur_per_kw=10.0)  # fmt: skip
    # actual: the 16 kW peak is set on day one (160 EUR); day one keeps 2 kWh (credited at
    # its 0.10), day two takes them (charged at its cheapest, 0.40)
    assert first.actual_eur == pytest.approx(0.40 + 160 - 0.20)
    assert second.actual_eur == pytest.approx(0.0 + 0.80)
    # no battery: 8 kW on day one, not beaten on day two
    assert first.no_battery_eur == pytest.approx(0.20 + 80)
    assert second.no_battery_eur == pytest.approx(0.80)
    # rule-based: 4 kW then 8 kW: 40 EUR of demand charge on each day
    assert first.rule_based_eur == pytest.approx(0.10 + 40 + 0.10)
    assert second.rule_based_eur == pytest.approx(0.80 + 40)


def test_an_interval_before_the_period_counts_only_for_the_peak():
    [cost] = reprice(_day(), BATTERY, period_of=np.array([-1, 0, 0]), periods=1,
                     demand_charge_eur_per_kw=10.0)  # fmt: skip
    assert cost.actual_eur == pytest.approx(0.80)  # 16 kW was set before: no charge
    assert cost.no_battery_eur == pytest.approx(0.80)
    assert (cost.intervals, cost.measured) == (2, 1)


def test_without_a_battery_resource_both_references_remove_the_measured_battery():
    [cost] = reprice(_day(), None, period_of=np.array([0, 0, 0]), periods=1)
    assert cost.no_battery_eur == pytest.approx(1.00)
    assert cost.rule_based_eur == pytest.approx(1.00)
    assert cost.actual_eur == pytest.approx(0.40)


def test_the_rule_based_controller_runs_each_battery_in_turn():
    """The measured flows are the site's total (priced with the batteries as one); the
    rule-based reference runs each battery with its own figures, the second on what the
    first left."""
    second = Battery("b2", capacity_kwh=10, charge_max_kw=20, discharge_max_kw=20,
                     soc_start_frac=0.05, soc_min_frac=0.0, soc_max_frac=1.0,
                     charge_efficiency=1.0, discharge_efficiency=1.0,
                     wear_cost_eur_per_kwh=0.01)  # fmt: skip
    [cost] = reprice(_day(), BATTERY, period_of=np.array([0, 0, 0]), periods=1,
                     rule_batteries=[BATTERY, second])  # fmt: skip
    assert cost.actual_eur == pytest.approx(0.40)  # as with one battery
    assert cost.no_battery_eur == pytest.approx(1.00)
    # the first spends its 1 kWh, the second its 0.5 kWh (0.005 EUR of wear) in the first
    # quarter: 0.5 kWh x 0.10 + 2 kWh x 0.40, and the 1.5 kWh they took refilled at 0.10
    assert cost.rule_based_eur == pytest.approx(0.05 + 0.80 + 0.005 + 0.15)


def test_exports_earn_each_interval_its_own_export_price():
    """The tariff's export price per interval (``flex.savings`` passes the tariff's): 1 kWh
    imported at 0.30, then 3 kWh exported in the interval paying 0.60."""
    measured = Measured(
        step_h=0.25,
        import_kwh=np.array([1.0, 0.0]),
        export_kwh=np.array([0.0, 3.0]),
        charge_kwh=np.zeros(2),
        discharge_kwh=np.zeros(2),
        price_eur_per_kwh=np.array([0.30, 0.30]),
        export_price_eur_per_kwh=np.array([0.05, 0.60]),
    )
    [cost] = reprice(measured, None, period_of=np.array([0, 0]), periods=1)
    assert cost.actual_eur == pytest.approx(0.30 - 3 * 0.60)
    assert cost.no_battery_eur == pytest.approx(0.30 - 3 * 0.60)
