"""Why the "Now" panel shows dashes: no fresh reading since when (site time), or never one."""

from __future__ import annotations

from gridpilot.web.fleet_view import NowTotals
from gridpilot.web.now_panel import now_terms, now_text, silence

#: 2026-07-01T12:00:00Z
JULY = 1_782_907_200_000
UNKNOWN = {"consumption": None, "import": None}


def test_a_site_that_went_quiet_says_when_it_last_reported_in_its_time():
    quiet = NowTotals(UNKNOWN, reporting=0, sites=1, last_ms=JULY)
    assert silence(quiet, "Europe/Rome") == (
        "No reading in the last 5 min",
        "2026-07-01 14:00 CEST",
    )


def test_a_site_without_any_reading_says_it_never_reported():
    assert silence(NowTotals(UNKNOWN, 0, 1, None), "UTC")[0].startswith("Never reported")


def test_no_reason_while_a_site_reports_or_when_there_is_no_site():
    assert silence(NowTotals({"consumption": 400.0}, 1, 1, JULY), "UTC") == ("", "")
    assert silence(NowTotals({}, 0, 0, None), "UTC") == ("", "")


def test_no_figure_is_shown_as_measured_while_no_site_reports():
    quiet = NowTotals({"consumption": 0.0, "generation": 0.0}, reporting=0, sites=24)
    assert now_text(quiet, "consumption") == now_text(quiet, "generation") == "\u2013"
    live = NowTotals({"consumption": 0.0, "generation": None}, reporting=1, sites=24)
    assert (now_text(live, "consumption"), now_text(live, "generation")) == ("0.0 kW", "\u2013")


def test_a_consumer_shows_no_generation_or_export_that_can_only_be_zero():
    assert now_terms(set(), generates=False) == ("consumption", "import")
    assert now_terms({"charge", "discharge"}, generates=False)[-2:] == ("discharge", "charge")
    assert now_terms(set()) == ("consumption", "generation", "import", "export")


def test_a_plants_consumption_assumed_0_reads_as_a_dash():
    """A solar park reporting now: its consumption is only assumed 0 (no consumption or grid
    meter), so a dash as on its cards, its generation a figure."""
    plant = NowTotals({"consumption": 0.0, "generation": 120.0}, 1, 1, JULY, True)
    assert (now_text(plant, "consumption"), now_text(plant, "generation")) == (
        "\u2013",
        "120.0 kW",
    )
