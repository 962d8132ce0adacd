"""Charts show missing data as a gap, not as a straight line across it; a site's balance chart
shows the flows the site has and its contract demand."""

from __future__ import annotations

import numpy as np
import pytest

from gridpilot.web.charts import balance_chart, break_gaps, energy_bars, usual_gap_ms
from gridpilot.web.fleet_view import TERMS, PowerHistory

MIN = 60_000


def test_a_gap_longer_than_allowed_gets_a_break_point_and_short_steps_do_not():
    data = [[0, 1.0], [MIN, 2.0], [2 * MIN, 3.0], [20 * MIN, 4.0], [21 * MIN, 5.0]]
    assert break_gaps(data, 2 * MIN) == [
        [0, 1.0],
        [MIN, 2.0],
        [2 * MIN, 3.0],
        [2 * MIN + 1, None],  # ECharts ends the line here
        [20 * MIN, 4.0],
        [21 * MIN, 5.0],
    ]


def test_regular_data_is_left_as_it_is():
    data = [[i * 15 * MIN, float(i)] for i in range(5)]
    assert break_gaps(data, 30 * MIN) == data
    assert break_gaps([], MIN) == []


def test_the_gap_is_judged_by_the_series_own_spacing():
    quarter_hourly = [[i * 15 * MIN, 1.0] for i in range(8)]
    assert usual_gap_ms(quarter_hourly, 2 * MIN) == 30 * MIN
    assert usual_gap_ms([[0, 1.0], [MIN, 1.0]], 2 * MIN) == 2 * MIN  # too few to judge


def _history(present: set[str]) -> PowerHistory:
    kw = {term: np.array([10.0, 12.0]) for term in TERMS}
    return PowerHistory([0, 15 * MIN], 15 * MIN, kw, frozenset(present))


def test_a_site_without_generation_has_no_generation_series_and_shows_its_contract():
    factory = balance_chart(_history({"consumption", "import", "export"}), contract_kw=1500.0)
    names = [series["name"] for series in factory["series"]]
    assert names == ["Contract demand", "Grid \u2192 home", "Grid export", "Consumption"]
    contract = factory["series"][0]
    assert contract["data"] == [[0, 1500.0], [30 * MIN, 1500.0]]  # across the whole chart
    assert contract["lineStyle"]["type"] == "dashed"


def test_a_site_with_pv_and_battery_shows_them_and_no_contract_line_without_one():
    present = {"consumption", "generation", "import", "export", "charge", "discharge"}
    names = [series["name"] for series in balance_chart(_history(present))["series"]]
    assert names == [
        "Generation \u2192 home",
        "Battery \u2192 home",
        "Grid \u2192 home",
        "Grid export",
        "Battery charge",
        "Consumption",
        "Generation",
        "Grid import",
    ]


def _prosumer() -> PowerHistory:
    """Four quarter hours of a house with PV and a battery [kW], the balance holding:
    consumption = import - export + generation + discharge - charge; the third unknown."""
    nan = float("nan")
    kw = {
        "generation": np.array([0.0, 6.0, nan, 3.0]),
        "discharge": np.array([1.5, 0.0, nan, 0.0]),
        "charge": np.array([0.0, 2.0, nan, 0.0]),
        "export": np.array([0.0, 1.0, nan, 0.0]),
        "import": np.array([2.0, 0.0, nan, 1.0]),
    }
    kw["consumption"] = kw["import"] - kw["export"] + kw["generation"] + kw["discharge"]
    kw["consumption"] -= kw["charge"]
    stamps = [i * 15 * MIN for i in range(4)]
    return PowerHistory(stamps, 15 * MIN, kw, frozenset(TERMS))


def test_the_sources_of_consumption_are_stacked_on_one_x_index_and_add_up_to_it():
    for options in (balance_chart(_prosumer()), energy_bars(_prosumer())):
        series = {s["name"]: s for s in options["series"]}
        home = [s for s in options["series"] if s.get("stack") == "home"]
        assert [s["name"] for s in home] == [
            "Generation \u2192 home", "Battery \u2192 home", "Grid \u2192 home"
        ]  # fmt: skip
        below = [s for s in options["series"] if s.get("stack") == "out"]
        assert [s["name"] for s in below] == ["Grid export", "Battery charge"]
        consumption = series["Consumption"]["data"]
        for stacked in home + below:  # one shared x index: ECharts stacks by position
            assert [p[0] for p in stacked["data"]] == [p[0] for p in consumption]
        for i in (0, 1, 3):
            assert sum(s["data"][i][1] for s in home) == pytest.approx(consumption[i][1])
        # at 15 min: 3 kW of 6 kW PV reached home, 2 charged the battery, 1 went out
        assert [s["data"][1][1] for s in home] == [3.0, 0.0, 0.0]
        assert [s["data"][1][1] for s in below] == [-1.0, -2.0]
        # the unknown quarter hour is a gap in every stacked series, not a zero
        assert all(s["data"][2][1] is None for s in home + below)
        assert consumption[2][1] is None
