"""The content of a rendered report, independent of its format (pure: no I/O).

A kind's builder returns a ``Document``: sections of ``Figure`` (one value with its unit and
displayed precision), ``Table`` and ``Chart``. Renderers (``render_pdf``, ``render_csv``) only
lay it out, so the PDF and the CSV of a run show the same numbers to the same precision.
Times are epoch milliseconds, written in the site's time zone with their UTC offset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Figure:
    """One value: ``decimals`` is its displayed precision (money: a ``Decimal``, rounded
    half-up to the cent by ``money``)."""

    key: str
    label: str
    value: float | Decimal | str | None
    unit: str = ""
    decimals: int = 1
    note: str = ""

    def text(self, *, grouped: bool = False) -> str:
        """The value as displayed ("" when unknown); ``grouped``: thousands separators."""
        return fmt(self.value, self.decimals, grouped=grouped)


@dataclass(frozen=True)
class Column:
    """A table column: ``kind`` ``number`` (``decimals``), ``time`` (epoch ms) or ``text``."""

    key: str
    label: str
    unit: str = ""
    kind: str = "number"
    decimals: int = 1


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[list[Any]]


@dataclass(frozen=True)
class Chart:
    """A bar or line chart: ``labels`` along x, each series' values (None: no data)."""

    key: str
    title: str
    kind: str
    labels: list[str]
    series: Mapping[str, Sequence[float | None]]
    unit: str


Item = Figure | Table | Chart


@dataclass(frozen=True)
class Section:
    title: str
    items: Sequence[Item]


@dataclass
class Document:
    """A whole report: what, where, when, and its sections. ``site_name`` is the name of what
    the report is of, ``target`` what that is (``site``, ``group`` or ``community``)."""

    kind: str
    title: str
    site_name: str
    timezone: str
    start_ms: int
    end_ms: int
    generated_ms: int
    sections: list[Section] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    target: str = "site"

    def table(self, key: str) -> Table:
        """The table ``key`` of any section (``KeyError`` when missing)."""
        for section in self.sections:
            for item in section.items:
                if isinstance(item, Table) and item.key == key:
                    return item
        raise KeyError(key)

    def figure(self, key: str) -> Figure:
        """The figure ``key`` of any section (``KeyError`` when missing)."""
        for section in self.sections:
            for item in section.items:
                if isinstance(item, Figure) and item.key == key:
                    return item
        raise KeyError(key)


def money(value: float | None) -> Decimal | None:
    """A money amount as ``Decimal`` rounded half-up to the cent."""
    if value is None:
        return None
    return Decimal(repr(float(value))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def fmt(value: Any, decimals: int, *, grouped: bool = False) -> str:
    """``value`` to ``decimals`` places (half-up for ``Decimal``, Python's rounding of the
    float otherwise, as ``round`` and ``f"{:.Nf}"`` do); text as is; None as ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Decimal):
        value = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)
    return f"{value:,.{decimals}f}" if grouped else f"{value:.{decimals}f}"


def local_iso(ms: int, timezone: str) -> str:
    """ISO-8601 with the zone's offset, to the second: ``2026-03-01T00:00:00+01:00``."""
    return datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(timezone)).isoformat(timespec="seconds")


def local_text(ms: int, timezone: str) -> str:
    """For people: ``2026-03-01 14:15 +01:00`` in the zone."""
    moment = datetime.fromtimestamp(ms / 1000, tz=ZoneInfo(timezone))
    return f"{moment:%Y-%m-%d %H:%M} {moment.isoformat()[-6:]}"


def cell(column: Column, value: Any, timezone: str, *, for_people: bool) -> str:
    """A table cell as text: times in the zone, numbers to the column's precision."""
    if value is None:
        return ""
    if column.kind == "time":
        return local_text(int(value), timezone) if for_people else local_iso(int(value), timezone)
    if column.kind == "text":
        return str(value)
    return fmt(value, column.decimals, grouped=for_people)
