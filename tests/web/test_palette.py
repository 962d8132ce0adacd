"""One colour per energy flow, the same in the charts, the forecast, the DR chart, the
community chart and the page CSS (``web/palette.py``)."""

from __future__ import annotations

import numpy as np

from gridpilot.web import palette
from gridpilot.web.charts import balance_chart, energy_bars
from gridpilot.web.dr_view import CHART_COLOURS
from gridpilot.web.fleet_view import PowerHistory
from gridpilot.web.pages.forecast import COLOURS as FORECAST


def _history() -> PowerHistory:
    terms = ("consumption", "generation", "import", "export", "discharge", "charge")
    kw = {t: np.array([1.0, 2.0]) for t in terms}
    return PowerHistory([0, 900_000], 900_000, kw, frozenset(terms))


def test_balance_charts_draw_each_flow_in_its_palette_colour() -> None:
    for options in (balance_chart(_history(), 5.0), energy_bars(_history())):
        drawn = {s["name"]: s["color"] for s in options["series"]}
        assert drawn["Grid \u2192 home"] == "#488fc2"
        assert drawn["Grid export"] == "#8353d1"
        assert drawn["Generation \u2192 home"] == "#ff9800"
        assert drawn["Consumption"] == "#e53935"
        assert drawn["Battery \u2192 home"] == "#4db6ac"
        assert drawn["Battery charge"] == "#f06292"
    lines = {s["name"]: s["color"] for s in balance_chart(_history(), 5.0)["series"]}
    assert lines["Generation"] == "#ff9800"
    assert lines["Grid import"] == "#488fc2"


def test_other_charts_take_the_flow_colours() -> None:
    assert FORECAST["consumption"] == (0xE5, 0x39, 0x35)  # the consumption red
    assert FORECAST["generation"] == (0xFF, 0x98, 0x00)  # the generation orange
    assert CHART_COLOURS["Actual"] == palette.colour("consumption")


def test_css_carries_light_and_dark_variables_and_the_dark_header() -> None:
    css = palette.css()
    assert ":root { --gp-consumption: #e53935;" in css
    assert ".body--dark { --gp-consumption: #e53935;" in css
    assert "--gp-gas: #e0455f" in css.split(".body--dark {")[1]  # the dark variant
    assert ".gp-import { color: var(--gp-import); }" in css
    assert f".body--dark .q-header {{ background: {palette.HEADER_DARK} !important;" in css
    assert palette.colour("gas", dark=True) == "#e0455f"
    assert palette.colour("gas") == "#8e021b"
