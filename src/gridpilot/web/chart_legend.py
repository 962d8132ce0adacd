"""A chart's legend as chips below it, as Home Assistant's energy dashboard and Grafana draw
theirs: it wraps onto as many rows as the width needs (a site's balance has up to nine series),
so it never scrolls, never covers the plot and reads in the theme's text colour, light or
dark, at 1440 px as on a 390 px phone. A click hides or shows its series (ECharts' own legend
stays, hidden, for that selection); every chip starts shown when the series change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nicegui import ui

#: The plot's top margin once ECharts' legend is hidden [px]: room for the unit's name.
TOP_PX = 28
CSS = """
.gp-legend { gap: 2px 14px; font-size: 12px; line-height: 18px; }
.gp-legend-item { display: inline-flex; align-items: center; gap: 6px; cursor: pointer;
  background: none; border: 0; padding: 0; color: inherit; font: inherit; opacity: .85; }
.gp-legend-item.gp-off { opacity: .35; text-decoration: line-through; }
.gp-mark { display: inline-block; width: 16px; flex: none; }
.gp-mark-area { height: 10px; border-radius: 2px; }
.gp-mark-line { height: 0; border-top: 2px solid; }
.gp-mark-dashed { height: 0; border-top: 2px dashed; }
.gp-mark-dotted { height: 0; border-top: 2px dotted; }
"""


@dataclass(frozen=True)
class Entry:
    """A series as its legend shows it: name, colour (None: ECharts' own) and mark
    (``area`` for areas and bars, ``line``, ``dashed`` or ``dotted``)."""

    name: str
    colour: str | None
    mark: str


def entries(options: dict[str, Any]) -> list[Entry]:
    """The legend of ``options``' series, in their order."""
    found = []
    for series in options.get("series") or []:
        line = (series.get("lineStyle") or {}).get("type")
        filled = series.get("type") == "bar" or "areaStyle" in series
        mark = "area" if filled else line if line in ("dashed", "dotted") else "line"
        found.append(Entry(str(series["name"]), series.get("color"), mark))
    return found


def without_legend(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` with ECharts' legend hidden (kept for its selection) and the plot moved
    up into its room."""
    options.setdefault("legend", {})["show"] = False
    if "grid" in options:
        options["grid"]["top"] = TOP_PX
    return options


class ChartLegend:
    """The chips of one chart, placed where it is made (below the chart)."""

    def __init__(self, chart: ui.echart, test_id: str | None = None) -> None:
        ui.add_css(CSS)
        self.chart = chart
        self.shown: list[Entry] = []
        self.row = ui.row().classes("gp-legend w-full justify-center items-center")
        if test_id:
            self.row.props(f"data-testid={test_id}")

    def show(self, options: dict[str, Any]) -> None:
        """Hide ECharts' legend in ``options`` and draw theirs (again when they changed)."""
        without_legend(options)
        wanted = entries(options)
        if wanted == self.shown:
            return
        self.shown = wanted
        self.row.clear()
        with self.row:
            for entry in wanted:
                self._chip(entry)

    def _chip(self, entry: Entry) -> None:
        chip = ui.element("button").classes("gp-legend-item").props('type="button"')
        with chip:
            mark = ui.element("span").classes(f"gp-mark gp-mark-{entry.mark}")
            if entry.colour:
                style = "background" if entry.mark == "area" else "border-top-color"
                mark.style(f"{style}: {entry.colour}")
            ui.label(entry.name)

        def toggle() -> None:
            chip.classes(toggle="gp-off")
            action = {"type": "legendToggleSelect", "name": entry.name}
            self.chart.run_chart_method("dispatchAction", action)

        chip.on("click", toggle)
