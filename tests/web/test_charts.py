"""Charts show missing data as a gap, not as a straight line across it; a site's balance chart
shows the flows the site has and its contract demand."""

from __future__ import annotations

import numpy as np

from gridpilot.web.charts import balance_chart, break_gaps, usual_gap_ms
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
    assert names == ["Contract demand", "Consumption", "Grid import", "Grid export"]
    contract = factory["series"][0]
    assert contract["data"] == [[0, 1500.0], [30 * MIN, 1500.0]]  # across the whole chart
    assert contract["lineStyle"]["type"] == "dashed"


def test_a_site_with_pv_and_battery_shows_them_and_no_contract_line_without_one():
    present = {"consumption", "generation", "import", "export", "charge", "discharge"}
    names = [series["name"] for series in balance_chart(_history(present))["series"]]
    assert names == [
        "Consumption",
        "Generation",
        "Grid import",
        "Grid export",
        "Battery discharge",
        "Battery charge",
    ]
