"""How the dashboard writes times: the site's wall clock and zone, DST included."""

from __future__ import annotations

from gridpilot.web.numbers import local_clock, local_datetime, measured

#: 2026-07-01T12:00:00Z and 2026-01-15T12:00:00Z
JULY, JANUARY = 1_782_907_200_000, 1_768_478_400_000


def test_local_datetime_is_the_sites_wall_clock_with_its_zone():
    assert local_datetime(JULY, "Europe/Rome") == "2026-07-01 14:00 CEST"
    assert local_datetime(JANUARY, "Europe/Rome") == "2026-01-15 13:00 CET"
    assert local_datetime(JULY, "UTC") == "2026-07-01 12:00 UTC"
    assert local_datetime(JANUARY, "America/New_York") == "2026-01-15 07:00 EST"


def test_a_zone_without_an_abbreviation_is_named():
    # Asia/Dubai has no letters abbreviation (tzdata writes "+04")
    assert local_datetime(JULY, "Asia/Dubai") == "2026-07-01 16:00 Asia/Dubai"
    assert local_clock(JULY, "Europe/Rome") == "14:00 CEST (Europe/Rome)"


def test_readings_are_written_with_their_unit_and_sensible_decimals():
    assert measured(1020.4, "kW") == "1,020 kW"
    assert measured(12_345.0, "kW") == "12.35 MW"
    assert measured(16_016.2, "kWh") == "16.02 MWh"
    assert measured(231.27, "V") == "231.3 V"
    assert measured(49.984, "Hz") == "49.98 Hz"
    assert measured(0.9712, "1") == "0.97"
    assert measured(21.456, "degC") == "21.46 °C"
    assert measured(float("nan"), "V") == "\u2013"


def test_every_percentage_is_written_with_a_space():
    from gridpilot.web.pages.kpis import show_value

    assert show_value("self_sufficiency", {"value": 0.454}) == "45 %"
    assert show_value("capacity_factor", {"value": 0.1234}) == "12.3 %"
    assert show_value("contract_utilization_pct", {"value": 70.0}) == "70 %"


def test_kpi_cards_write_energy_power_money_and_carbon_as_every_page_does():
    from gridpilot.web.pages.kpis import show_value

    assert show_value("energy_kwh", {"value": 7959.94}) == "7,960 kWh"
    assert show_value("energy_kwh", {"value": 34_610.0}) == "34.61 MWh"
    assert show_value("peak_demand_kw", {"value": 417.61}) == "417.6 kW"
    assert show_value("cost", {"value": 1796.241, "unit": "EUR"}) == "\u20ac1,796.24"
    assert show_value("grid_revenue", {"value": "12.50", "unit": "CHF"}) == "12.50 CHF"
    assert show_value("carbon_kg", {"value": 3582.04}) == "3,582 kg CO\u2082"


def test_a_small_share_keeps_a_decimal_so_it_does_not_read_as_none():
    from gridpilot.web.numbers import share

    assert share(0.006) == "0.6 %"  # the demo fleet's self-sufficiency read "0 %"
    assert share(0.0) == "0 %"
    assert share(0.0994) == "9.9 %"
    assert share(0.328) == "33 %"
    assert share(1.0) == "100 %"
    assert share(None) == "\u2013"  # an en dash
