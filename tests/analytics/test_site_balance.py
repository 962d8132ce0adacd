"""The site energy balance against hand-computed intervals (kWh per interval)."""

from __future__ import annotations

import numpy as np
import pytest

from gridpilot.analytics.site_balance import (
    Source,
    self_consumption,
    self_sufficiency,
    solve_balance,
    unmetered_remainder,
)

NAN = float("nan")


def arr(*values: float) -> np.ndarray:
    return np.array(values, dtype=float)


def test_pv_battery_and_grid_meter_derive_the_consumption():
    """Grid meter (import/export registers), PV, battery; no load meter.

    consumption = import - export + generation + discharge - charge
      i0: 2 - 0 + 0 + 0   - 0 = 2.0     i1: 0 - 3 + 5 + 0   - 1 = 1.0
      i2: 0 - 0 + 4 + 0   - 2 = 2.0     i3: 1 - 0 + 0 + 1.5 - 0 = 2.5
    """
    balance = solve_balance(
        {
            "import": arr(2, 0, 0, 1),
            "export": arr(0, 3, 0, 0),
            "generation": arr(0, 5, 4, 0),
            "discharge": arr(0, 0, 0, 1.5),
            "charge": arr(0, 1, 2, 0),
            "consumption": arr(NAN, NAN, NAN, NAN),
        }
    )
    np.testing.assert_allclose(balance.values["consumption"], [2.0, 1.0, 2.0, 2.5])
    assert balance.share("consumption", Source.DERIVED) == 1.0
    assert balance.share("import", Source.MEASURED) == 1.0
    assert balance.total_kwh("consumption") == pytest.approx(7.5)
    assert self_consumption(balance) == pytest.approx(1 - 3 / 9)  # 0.667
    assert self_sufficiency(balance) == pytest.approx(1 - 3 / 7.5)  # 0.6
    assert not balance.flagged.any()
    assert np.isnan(balance.residual_kwh).all()  # nothing to check: one term was derived


def test_prosumer_with_import_export_registers_and_pv():
    """A household: POD meter (import, export) and its PV meter; no storage (absent)."""
    balance = solve_balance(
        {
            "import": arr(0.4, 0.0, 0.0),
            "export": arr(0.0, 1.2, 0.3),
            "generation": arr(0.0, 2.0, 0.8),
            "consumption": arr(NAN, NAN, NAN),
        }
    )
    # 0.4 - 0 + 0 = 0.4;  0 - 1.2 + 2.0 = 0.8;  0 - 0.3 + 0.8 = 0.5
    np.testing.assert_allclose(balance.values["consumption"], [0.4, 0.8, 0.5])
    assert balance.share("charge", Source.ABSENT) == 1.0
    assert balance.coverage() == 1.0
    assert self_consumption(balance) == pytest.approx(1 - 1.5 / 2.8)
    assert self_sufficiency(balance) == pytest.approx(1 - 0.4 / 1.7)


def test_community_device_message_derives_import_and_export():
    """The CER seed's message gives energy_produced and energy_consumed only: the exchange
    with the grid is the net, split by its sign."""
    balance = solve_balance(
        {
            "import": arr(NAN, NAN),
            "export": arr(NAN, NAN),
            "generation": arr(3.0, 0.5),  # energy_produced
            "consumption": arr(1.0, 2.0),  # energy_consumed
        }
    )
    np.testing.assert_allclose(balance.values["import"], [0.0, 1.5])
    np.testing.assert_allclose(balance.values["export"], [2.0, 0.0])
    assert balance.share("import", Source.DERIVED) == 1.0
    assert self_consumption(balance) == pytest.approx(1 - 2.0 / 3.5)


def test_contradicting_meters_are_flagged_not_summed():
    """Every term measured: 5 kWh came in, 3 kWh were consumed -> 2 kWh unexplained."""
    balance = solve_balance(
        {
            "import": arr(5.0, 5.0),
            "export": arr(0.0, 0.0),
            "generation": arr(0.0, 0.0),
            "consumption": arr(3.0, 4.9),
        }
    )
    np.testing.assert_allclose(balance.residual_kwh, [2.0, 0.1])
    # tolerance 0.05 kWh + 5 % of the 5 kWh inflow = 0.30 kWh: 2.0 flagged, 0.1 not
    assert balance.flagged.tolist() == [True, False]


def test_two_unknown_terms_stay_unknown_and_lower_the_coverage():
    balance = solve_balance(
        {
            "import": arr(1.0, NAN),
            "export": arr(0.0, 0.0),
            "generation": arr(2.0, NAN),
            "consumption": arr(NAN, 3.0),
        }
    )
    assert balance.values["consumption"][0] == pytest.approx(3.0)
    assert np.isnan(balance.values["import"][1]) and np.isnan(balance.values["generation"][1])
    assert balance.sources["import"][1] == Source.UNKNOWN
    assert balance.coverage() == 0.5
    assert balance.total_kwh("consumption") == pytest.approx(3.0)  # complete intervals only


def test_a_derived_negative_term_is_flagged():
    """A PV meter reading more than the site consumed and exported: consumption < 0."""
    balance = solve_balance(
        {
            "import": arr(0.0),
            "export": arr(1.0),
            "generation": arr(0.2),
            "consumption": arr(NAN),
        }
    )
    assert balance.values["consumption"][0] == pytest.approx(-0.8)
    assert balance.flagged.tolist() == [True]


def test_main_meter_with_sub_meters_leaves_an_unmetered_remainder():
    """Main meter 10 kWh, sub-meters 4 + 3.5: 2.5 kWh unmetered; never 17.5 kWh of load."""
    main = arr(10.0, 6.0)
    remainder = unmetered_remainder(main, [arr(4.0, 4.0), arr(3.5, 3.0)])
    np.testing.assert_allclose(remainder, [2.5, -1.0])  # the second interval: sub-meters > main
    balance = solve_balance({"import": main, "export": arr(0.0, 0.0), "consumption": arr(NAN, NAN)})
    assert balance.total_kwh("consumption") == pytest.approx(16.0)


def test_terms_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="different lengths"):
        solve_balance({"import": arr(1.0), "consumption": arr(1.0, 2.0)})
