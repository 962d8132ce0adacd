"""A ``Document`` as CSV (UTF-8 with a byte-order mark, so spreadsheets read it as UTF-8).

Layout, one block after another, separated by an empty line:

- the header: ``report``, ``site`` (``group``, ``community``: what the report is of),
  ``timezone``, ``start``, ``end``, ``generated`` (ISO-8601
  with the site's UTC offset);
- the figures: ``section,key,label,value,unit`` (values to their displayed precision, no
  thousands separators, "." as decimal mark);
- each table: a ``# table,<key>,<title>`` line, its column header (``label [unit]``), its rows
  (times ISO-8601 with offset);
- the notes, one ``# note,<text>`` line each.
Charts are not repeated: their data are tables of the same document.
"""

from __future__ import annotations

import csv
import io

from gridpilot.reports.document import Document, Figure, Table, cell, local_iso

CONTENT_TYPE = "text/csv; charset=utf-8"


def render_csv(document: Document) -> bytes:
    """The document as CSV bytes."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    zone = document.timezone
    writer.writerows(
        [
            ["report", document.title],
            [document.target, document.site_name],
            ["timezone", zone],
            ["start", local_iso(document.start_ms, zone)],
            ["end", local_iso(document.end_ms, zone)],
            ["generated", local_iso(document.generated_ms, zone)],
            [],
            ["section", "key", "label", "value", "unit"],
        ]
    )
    tables: list[Table] = []
    for section in document.sections:
        for item in section.items:
            if isinstance(item, Figure):
                writer.writerow([section.title, item.key, item.label, item.text(), item.unit])
            elif isinstance(item, Table):
                tables.append(item)
    for table in tables:
        writer.writerow([])
        writer.writerow(["# table", table.key, table.title])
        writer.writerow([f"{c.label} [{c.unit}]" if c.unit else c.label for c in table.columns])
        for row in table.rows:
            writer.writerow(
                [
                    cell(c, v, zone, for_people=False)
                    for c, v in zip(table.columns, row, strict=True)
                ]
            )
    if document.notes:
        writer.writerow([])
    for note in document.notes:
        writer.writerow(["# note", note])
    return ("\ufeff" + out.getvalue()).encode("utf-8")
