"""A member's monthly statement as PDF (fpdf2): the same rows as the CSV statement, as a
table on one A4 page per ~50 rows. Core fonts are Latin-1: other characters print as '?'."""

from __future__ import annotations

from fpdf import FPDF

from gridpilot.community.statements import Row

WIDTHS_MM = (45.0, 75.0, 40.0, 20.0)


def _latin1(value: object) -> str:
    return str(value).encode("latin-1", "replace").decode("latin-1")


def statement_pdf(rows: list[Row], title: str) -> bytes:
    """The statement ``rows`` under ``title`` as PDF bytes."""
    pdf = FPDF(format="A4")
    pdf.set_compression(False)  # a page of text: small anyway, and searchable as is
    pdf.set_creator("gridpilot")
    pdf.set_title(_latin1(title))
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=14)
    pdf.cell(0, 10, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    for header, width in zip(("section", "item", "value", "unit"), WIDTHS_MM, strict=True):
        pdf.cell(width, 7, header, border="B")
    pdf.ln()
    for row in rows:
        for value, width in zip(row, WIDTHS_MM, strict=True):
            align = "R" if width == WIDTHS_MM[2] else "L"
            pdf.cell(width, 6, _latin1(value)[:60], align=align)
        pdf.ln()
    return bytes(pdf.output())
