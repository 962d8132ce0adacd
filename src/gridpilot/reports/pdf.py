"""A ``Document`` as PDF with fpdf2, on the server with no network.

Text is set in DejaVu Sans (a TrueType font with Latin, Greek and Cyrillic: names like "Società"
or "Zürich" print as written), read from the first of ``FONT_DIRS`` that holds it (Debian's
``fonts-dejavu-core``). Without it the PDF falls back to fpdf2's core Helvetica, which is
Latin-1 only: other characters then print as "?" (``Pdf.unicode`` says which was used).

Charts are vector graphics drawn with fpdf2's own primitives (rectangles, lines, polylines): no
plotting library, no raster image, a few kB per chart, sharp at any zoom. The helpers (``Pdf``:
title block, figure grid, table, bar and line chart) know nothing of report kinds, so other
documents (the community statements) can use them.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from fpdf import FPDF

from gridpilot.reports.document import (
    Chart,
    Document,
    Figure,
    Table,
    cell,
    local_text,
)

CONTENT_TYPE = "application/pdf"
#: Where DejaVu Sans is looked for, in order.
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/local/share/fonts/dejavu"),
)
#: Series colours (RGB), colour-blind safe (Okabe-Ito).
PALETTE = ((0, 114, 178), (230, 159, 0), (0, 158, 115), (204, 121, 167), (86, 180, 233))
PAGE_W_MM, MARGIN_MM = 210.0, 15.0
# fpdf2 subsets the font with fontTools, which logs every table it touches at INFO
logging.getLogger("fontTools").setLevel(logging.WARNING)
BODY_W_MM = PAGE_W_MM - 2 * MARGIN_MM


def font_files() -> tuple[Path, Path] | None:
    """(regular, bold) DejaVu Sans files, or None when not installed."""
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


@dataclass(frozen=True)
class _Area:
    """A chart's plotting area [mm] and the values at its bottom and top."""

    x: float
    y: float
    w: float
    h: float
    lo: float
    hi: float

    @property
    def bottom(self) -> float:
        return self.y + self.h

    def y_of(self, value: float) -> float:
        """The page's y [mm] of ``value`` (clipped to the area)."""
        span = (self.hi - self.lo) or 1.0
        share = min(max((value - self.lo) / span, 0.0), 1.0)
        return self.y + self.h - self.h * share


class Pdf:
    """An A4 document with gridpilot's layout helpers."""

    def __init__(self, title: str) -> None:
        self.doc = FPDF(format="A4")
        self.doc.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
        self.doc.set_auto_page_break(True, margin=MARGIN_MM)
        self.doc.set_creator("gridpilot")
        fonts = font_files()
        self.unicode = fonts is not None
        if fonts is not None:
            self.doc.add_font("DejaVu", "", str(fonts[0]))
            self.doc.add_font("DejaVu", "B", str(fonts[1]))
            self.family = "DejaVu"
        else:
            self.family = "Helvetica"
        self.doc.set_title(self.text(title))
        self.doc.add_page()

    def text(self, value: object) -> str:
        """``value`` as printable text (Latin-1 only without the TrueType font)."""
        text = str(value)
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")

    def fit(self, value: object, width_mm: float) -> str:
        """``value`` as printable text, cut with "..." to fit ``width_mm`` in the current font."""
        text = self.text(value)
        if self.doc.get_string_width(text) <= width_mm:
            return text
        while text and self.doc.get_string_width(text + "...") > width_mm:
            text = text[:-1]
        return text + "..."

    def font(self, size: float, bold: bool = False) -> None:
        self.doc.set_font(self.family, style="B" if bold else "", size=size)

    def heading(self, text: str, size: float = 13) -> None:
        self.room(14)
        self.doc.ln(2)
        self.font(size, bold=True)
        self.doc.cell(0, 8, self.text(text), new_x="LMARGIN", new_y="NEXT")

    def line(self, text: str, size: float = 9) -> None:
        self.font(size)
        self.doc.multi_cell(0, 5, self.text(text), new_x="LMARGIN", new_y="NEXT")

    def room(self, height_mm: float) -> None:
        """A new page unless ``height_mm`` still fits on this one."""
        if self.doc.get_y() + height_mm > self.doc.h - MARGIN_MM:
            self.doc.add_page()

    def figures(self, items: Sequence[Figure]) -> None:
        """Figures as a grid of label / value boxes, three per row."""
        width, height = BODY_W_MM / 3, 15.0
        for i, item in enumerate(items):
            if i % 3 == 0:
                self.room(height)
                top = self.doc.get_y()
            x = MARGIN_MM + (i % 3) * width
            self.doc.set_xy(x, top)
            self.font(7.5)
            self.doc.set_text_color(90, 90, 90)
            self.doc.cell(width - 2, 5, self.text(item.label))
            self.doc.set_xy(x, top + 5)
            self.doc.set_text_color(0, 0, 0)
            self.font(11, bold=True)
            shown = f"{item.text(grouped=True)} {item.unit}".strip() if item.text() else "n/a"
            self.doc.cell(width - 2, 6, self.fit(shown, width - 2))
            if item.note:
                self.doc.set_xy(x, top + 10.5)
                self.font(6.5)
                self.doc.cell(width - 2, 4, self.text(item.note[:70]))
            if i % 3 == 2 or i == len(items) - 1:
                self.doc.set_xy(MARGIN_MM, top + height)

    def table(self, table: Table, timezone: str, max_rows: int = 400) -> None:
        """A table with a header row; numbers right-aligned; at most ``max_rows`` rows."""
        weights = [2.2 if c.kind != "number" else 1.0 for c in table.columns]
        widths = [BODY_W_MM * w / sum(weights) for w in weights]
        self.room(30)  # the title, the header and a few rows stay together
        self.heading(table.title, size=10)
        self.font(7.5, bold=True)
        for column, width in zip(table.columns, widths, strict=True):
            label = f"{column.label} [{column.unit}]" if column.unit else column.label
            align = "R" if column.kind == "number" else "L"
            self.doc.cell(width, 5.5, self.fit(label, width - 1), border="B", align=align)
        self.doc.ln()
        self.font(7.5)
        for row in table.rows[:max_rows]:
            self.room(5)
            for column, width, value in zip(table.columns, widths, row, strict=True):
                text = cell(column, value, timezone, for_people=True)
                align = "R" if column.kind == "number" else "L"
                self.doc.cell(width, 4.6, self.fit(text, width - 1), align=align)
            self.doc.ln()
        if len(table.rows) > max_rows:
            self.line(f"... {len(table.rows) - max_rows} more rows in the CSV file", size=7)

    def chart(self, chart: Chart, height_mm: float = 55.0) -> None:
        """A bar or line chart with a y axis through zero (negative values below), its ticks
        and a legend."""
        self.room(height_mm + 16)  # the title stays with its chart
        self.heading(chart.title, size=10)
        values = [v for s in chart.series.values() for v in s if v is not None]
        hi = _nice_ceiling(max([*values, 0.0]))
        lo = -_nice_ceiling(-min(values)) if values and min(values) < 0 else 0.0
        if lo < 0 and max([*values, 0.0]) <= 0:
            hi = 0.0
        area = _Area(MARGIN_MM + 14, self.doc.get_y() + 2, BODY_W_MM - 16, height_mm - 10, lo, hi)
        self._axes(area, chart.unit)
        n = max(len(chart.labels), 1)
        for k, (name, series) in enumerate(chart.series.items()):
            self.doc.set_fill_color(*PALETTE[k % len(PALETTE)])
            self.doc.set_draw_color(*PALETTE[k % len(PALETTE)])
            if chart.kind == "bar":
                self._bars(series, k, len(chart.series), area)
            else:
                self._polyline(series, area)
            self.font(7)
            self.doc.rect(area.x + k * 45, area.bottom + 7.2, 3, 2, style="F")
            self.doc.set_xy(area.x + k * 45 + 4, area.bottom + 6)
            self.doc.cell(40, 4, self.text(name))
        step = max(1, math.ceil(n / 12))
        self.font(6)
        for i in range(0, n, step):
            self.doc.set_xy(area.x + i * area.w / n, area.bottom + 1)
            self.doc.cell(area.w / n * step, 4, self.text(chart.labels[i]))
        self.doc.set_draw_color(0, 0, 0)
        self.doc.set_xy(MARGIN_MM, area.bottom + 12)

    def _axes(self, area: _Area, unit: str) -> None:
        self.doc.set_line_width(0.1)
        self.font(6)
        for k in range(5):
            value = area.lo + (area.hi - area.lo) * k / 4
            y = area.y_of(value)
            self.doc.set_draw_color(215, 215, 215)
            self.doc.line(area.x, y, area.x + area.w, y)
            self.doc.set_xy(MARGIN_MM, y - 2)
            self.doc.cell(13, 4, self.text(_tick(value)), align="R")
        self.doc.set_xy(MARGIN_MM, area.y - 5)
        self.doc.cell(20, 4, self.text(unit))
        self.doc.set_draw_color(0, 0, 0)
        self.doc.set_line_width(0.2)
        zero = area.y_of(0.0)
        self.doc.line(area.x, zero, area.x + area.w, zero)

    def _bars(self, series: Sequence[float | None], k: int, count: int, area: _Area) -> None:
        slot = area.w / max(len(series), 1)
        bar = slot * 0.8 / count
        zero = area.y_of(0.0)
        for i, value in enumerate(series):
            if value is None or value == 0:
                continue
            end = area.y_of(value)
            x = area.x + i * slot + slot * 0.1 + k * bar
            self.doc.rect(x, min(zero, end), bar, abs(zero - end), style="F")

    def _polyline(self, series: Sequence[float | None], area: _Area) -> None:
        slot = area.w / max(len(series) - 1, 1)
        self.doc.set_line_width(0.4)
        run: list[tuple[float, float]] = []
        for i, value in enumerate([*series, None]):
            if value is not None:
                run.append((area.x + i * slot, area.y_of(value)))
                continue
            if len(run) > 1:
                self.doc.polyline(run)
            run = []
        self.doc.set_line_width(0.2)

    def output(self) -> bytes:
        return bytes(self.doc.output())


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 x 10^k at or above ``value`` (1 for 0)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for factor in (1.0, 2.0, 2.5, 5.0, 10.0):
        if factor * power >= value:
            return factor * power
    return 10.0 * power


def _tick(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 10 or value == 0 else f"{value:.2g}"


def render_pdf(document: Document) -> bytes:
    """The document as PDF bytes: title block, then each section's figures, charts, tables."""
    pdf = Pdf(document.title)
    zone = document.timezone
    pdf.font(16, bold=True)
    pdf.doc.cell(0, 9, pdf.text(document.title), new_x="LMARGIN", new_y="NEXT")
    what = (
        document.site_name
        if document.target == "site"
        else (f"{document.target.capitalize()} {document.site_name}")
    )
    pdf.line(f"{what} · {zone}", size=10)
    pdf.line(
        f"{local_text(document.start_ms, zone)} to {local_text(document.end_ms, zone)}"
        f" · generated {local_text(document.generated_ms, zone)}",
        size=8,
    )
    for section in document.sections:
        pdf.heading(section.title)
        figures = [i for i in section.items if isinstance(i, Figure)]
        if figures:
            pdf.figures(figures)
        for item in section.items:
            if isinstance(item, Chart):
                pdf.chart(item)
            elif isinstance(item, Table):
                pdf.table(item, zone)
    if document.notes:
        pdf.heading("Notes", size=10)
        for note in document.notes:
            pdf.line(f"- {note}", size=8)
    return pdf.output()
