"""The energy-flow view's figures, the global time range and the month cards, by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from gridpilot.analytics.site_balance import TERMS, solve_balance
from gridpilot.web.charts import mark_lone, on_site_clock, plain
from gridpilot.web.energy_flow import flows_of, split
from gridpilot.web.flow_view import flow_svg, source_of
from gridpilot.web.numbers import money
from gridpilot.web.site_cards import month_texts
from gridpilot.web.time_range import Choice, period_of


def _terms(**given: list[float]) -> dict[str, np.ndarray]:
    return {t: np.array(given.get(t, [0.0] * len(next(iter(given.values()))))) for t in TERMS}


def test_solar_goes_to_the_grid_and_the_battery_first_the_rest_to_the_home() -> None:
    # one interval: 10 kWh of PV, 4 exported, 1 charged, 2 imported -> the home used 7
    links = split(_terms(generation=[10.0], export=[4.0], charge=[1.0], **{"import": [2.0]}))
    assert {k: float(v[0]) for k, v in links.items()} == {
        "solar_grid": 4.0,
        "solar_battery": 1.0,
        "solar_home": 5.0,
        "battery_grid": 0.0,
        "battery_home": 0.0,
        "grid_battery": 0.0,
        "grid_home": 2.0,
    }


def test_the_battery_exports_what_solar_did_not_and_the_grid_fills_the_battery() -> None:
    # no PV; 5 kWh out of the battery, 1 of them exported; 3 imported, 2 of them charged
    links = split(_terms(discharge=[5.0], export=[1.0], charge=[2.0], **{"import": [3.0]}))
    assert float(links["battery_grid"][0]) == 1.0
    assert float(links["battery_home"][0]) == 4.0
    assert float(links["grid_battery"][0]) == 2.0
    assert float(links["grid_home"][0]) == 1.0  # home: 4 + 1 = 3 - 1 + 5 - 2


def test_node_totals_are_the_balance_totals_over_complete_intervals() -> None:
    # a consumer site: consumption metered, import derived; the second interval unknown
    unknown = np.full(3, np.nan)
    measured = {"consumption": np.array([2.0, np.nan, 3.0]), "import": unknown, "export": unknown}
    balance = solve_balance(measured)
    flows = flows_of([balance])
    assert flows.kwh["consumption"] == 5.0
    assert flows.kwh["import"] == 5.0
    assert flows.links["grid_home"] == 5.0
    assert (flows.solar, flows.battery) == (False, False)
    assert flows.coverage == pytest.approx(2 / 3)
    assert flows.self_sufficiency == 0.0 and flows.self_consumption is None
    svg = flow_svg(flows)
    assert 'data-testid="flow-node-solar"' not in svg  # no zero clutter for a consumer
    assert 'data-testid="flow-node-battery"' not in svg
    assert '<text x="292" y="153" text-anchor="middle"' in svg and ">5.0 kWh</text>" in svg


def test_the_generation_node_is_named_after_the_sources() -> None:
    assert source_of([("solar_pv", "producer")]) == ("Solar", "solar_power")
    assert source_of([("household", "prosumer")]) == ("Solar", "solar_power")
    assert source_of([("wind_onshore", "producer")]) == ("Wind", "air")
    assert source_of([("wind_onshore", "producer"), ("solar_pv", "producer")])[0] == "Generation"


def _ms(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp() * 1000)


AT = _ms("2026-03-30T10:30:00+02:00")  # a Monday, the day after Rome moved to summer time


@pytest.mark.parametrize(
    ("choice", "start", "end"),
    [
        (Choice("Today"), "2026-03-30T00:00:00+02:00", "2026-03-30T10:30:00+02:00"),
        (Choice("Yesterday"), "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"),
        (Choice("This week"), "2026-03-30T00:00:00+02:00", "2026-03-30T10:30:00+02:00"),
        (Choice("This month"), "2026-03-01T00:00:00+01:00", "2026-03-30T10:30:00+02:00"),
        (Choice("Last 24 hours"), "2026-03-29T10:30:00+02:00", "2026-03-30T10:30:00+02:00"),
        (Choice("Last 7 days"), "2026-03-24T00:00:00+01:00", "2026-03-30T10:30:00+02:00"),
        (
            Choice("Custom", date(2026, 3, 28), date(2026, 3, 27)),  # the days in any order
            "2026-03-27T00:00:00+01:00",
            "2026-03-29T00:00:00+01:00",
        ),
        (Choice("Nonsense"), "2026-03-29T10:30:00+02:00", "2026-03-30T10:30:00+02:00"),
    ],
)
def test_periods_are_local_days_of_the_site(choice: Choice, start: str, end: str) -> None:
    period = period_of(choice, "Europe/Rome", AT)
    assert (period.start_ms, period.end_ms) == (_ms(start), _ms(end))


def test_yesterday_across_the_spring_change_has_23_hours_and_says_so() -> None:
    period = period_of(Choice("Yesterday"), "Europe/Rome", AT)
    assert period.hours == 23
    assert period.text == "Yesterday, 2026-03-29 00:00 CET \u2013 2026-03-30 00:00 CEST"
    today = period_of(Choice("Today"), "UTC", _ms("2026-12-04T14:05:00+00:00"))
    assert today.text == "Today, 2026-12-04 00:00 UTC \u2013 14:05 UTC"
    assert datetime.fromtimestamp(today.start_ms / 1000, UTC).hour == 0


def test_month_cards_write_the_kpis_with_units() -> None:
    figures = {
        "energy_kwh": {"value": 17_490.4},
        "cost": {"value": 4049.2, "unit": "EUR"},
        "peak_demand_kw": {"value": 422.94},
        "contract_utilization_pct": {"value": 47.0},
        "generation_kwh": {"value": 100.0},
        "self_sufficiency": {"value": 0.25},
        "self_consumption": {"value": 0.9},
        "carbon_kg": {"value": 7870.0},
    }
    texts = month_texts(figures, 900.0)
    assert texts["month-energy"][0] == "17.49 MWh"
    assert texts["month-cost"][0] == "€4,049.20"
    assert texts["month-peak"] == ("422.9 kW", "47 % of the contract's 900.0 kW")
    assert texts["month-share"] == ("25 %", "self-consumption 90 %")
    del figures["generation_kwh"], figures["cost"]["value"]
    texts = month_texts(figures, None)
    assert texts["month-share"] == ("7,870 kg CO₂", "carbon of the grid import")
    assert texts["month-cost"][0] == "no tariff"
    assert texts["month-peak"][1] == "highest 15-min average"
    assert money(-3.456, "CHF") == "-3.46 CHF"


def test_a_point_without_known_neighbours_is_marked_as_a_dot() -> None:
    data = [[0, 1.0], [1, 2.0], [2, None], [9, 3.0], [10, None], [11, 4.0]]
    marked = mark_lone(data)
    dot = {"symbol": "circle", "symbolSize": 7}
    assert marked == [[0, 1.0], [1, 2.0], [2, None], {"value": [9, 3.0], **dot}, [10, None],
                      {"value": [11, 4.0], **dot}]  # fmt: skip
    assert plain(marked) == data
    assert mark_lone([[5, 1.0]]) == [{"value": [5, 1.0], **dot}]  # the first live reading


def test_site_charts_are_drawn_on_the_sites_wall_clock() -> None:
    before, after = _ms("2026-03-29T00:30:00+01:00"), _ms("2026-03-29T03:30:00+02:00")
    options = {"series": [{"data": [[before, 1.0], {"value": [after, 2.0]}]}]}
    moved = on_site_clock(options, "Europe/Rome")
    assert moved["useUTC"] is True
    # read as UTC, the moved times are Rome's wall clock: 00:30 and 03:30 across the change
    assert moved["series"][0]["data"][0][0] == _ms("2026-03-29T00:30:00+00:00")
    assert moved["series"][0]["data"][1]["value"][0] == _ms("2026-03-29T03:30:00+00:00")
