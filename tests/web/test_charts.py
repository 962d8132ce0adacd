"""Charts show missing data as a gap, not as a straight line across it."""

from __future__ import annotations

from gridpilot.web.charts import break_gaps, usual_gap_ms

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
