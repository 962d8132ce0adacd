"""GME hourly zonal prices (MGP "prezzi zonali") from CSV text: text in, a table out.

Format read (the GME's exports and the usual spreadsheet copies of them): a header row, then
one row per hour with the date, the hour number and one column per zone::

    Data;Ora;PUN;NORD;CNOR;CSUD;SUD;CALA;SICI;SARD
    20240331;1;90,50;88,10;...

* separator ``;`` (or ``,`` / tab when the header has no ``;``), decimal comma (``1.234,56``
  and ``112.45`` are read too);
* date ``YYYYMMDD``, ``YYYY-MM-DD`` or ``DD/MM/YYYY``, a day of the Italian market
  (Europe/Rome);
* hour ``1`` .. ``N``, ``N`` the number of hours of that local day: 23 on the last Sunday of
  March, 25 on the last Sunday of October, else 24. Hour ``k`` starts ``k - 1`` hours after
  local midnight, so the repeated hour of October (hours 3 and 4) gets two different UTC
  starts.

Output: prices [EUR/MWh] indexed by the UTC start of the hour, one column per zone (names
upper case, as in the header; any other column such as PUN is kept too). Every bad row is
reported with its line number in one ``ZonalPriceError``.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime

import numpy as np
import pandas as pd

from gridpilot.core.errors import BadRequest

MARKET_TZ = "Europe/Rome"
ZONES = ("NORD", "CNOR", "CSUD", "SUD", "CALA", "SICI", "SARD")
_DATE_HEADERS = {"data", "date", "giorno", "day"}
_HOUR_HEADERS = {"ora", "hour", "h"}
_DATE_FORMATS = ("%Y%m%d", "%Y-%m-%d", "%d/%m/%Y")
_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$|^[+-]?\d+(\.\d+)?$")
MAX_ERRORS = 50


class ZonalPriceError(BadRequest):
    """The CSV has bad rows; ``details`` lists ``{"line": n, "reason": ...}``."""

    code = "zonal_prices_invalid"


def _number(text: str) -> float:
    t = text.strip()
    if not _NUMBER.match(t):
        raise ValueError(f"not a number: {text!r}")
    if "," in t:
        t = t.replace(".", "").replace(",", ".")
    return float(t)


def _day(text: str) -> date:
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date (YYYYMMDD, YYYY-MM-DD or DD/MM/YYYY): {text!r}")


def hours_in_market_day(day: date) -> int:
    """23, 24 or 25: the length of ``day`` in Europe/Rome."""
    start = pd.Timestamp(day).tz_localize(MARKET_TZ)
    end = (pd.Timestamp(day) + pd.Timedelta(days=1)).tz_localize(MARKET_TZ)
    return int((end - start) / pd.Timedelta(hours=1))


def hour_start_utc(day: date, hour: int) -> pd.Timestamp:
    """UTC start of GME hour ``hour`` (1-based) of the market day ``day``."""
    midnight = pd.Timestamp(day).tz_localize(MARKET_TZ).tz_convert("UTC")
    return midnight + pd.Timedelta(hours=hour - 1)


def _columns(header: list[str]) -> tuple[int, int, list[tuple[int, str]]]:
    names = [h.strip() for h in header]
    lower = [n.lower() for n in names]
    date_col = next((i for i, n in enumerate(lower) if n in _DATE_HEADERS), None)
    hour_col = next((i for i, n in enumerate(lower) if n in _HOUR_HEADERS), None)
    if date_col is None or hour_col is None:
        raise ZonalPriceError(
            "line 1: the header needs a date column (Data) and an hour column (Ora)",
            details=[{"line": 1, "reason": "no date or hour column"}],
        )
    zones = [(i, n.upper()) for i, n in enumerate(names) if i not in (date_col, hour_col) and n]
    if not zones:
        raise ZonalPriceError(
            "line 1: no price column", details=[{"line": 1, "reason": "no zones"}]
        )
    return date_col, hour_col, zones


def parse_zonal_prices(text: str) -> pd.DataFrame:
    """Parse GME zonal prices CSV text into an hourly UTC table (see the module docstring)."""
    lines = text.lstrip("\ufeff").splitlines()
    if not lines or not lines[0].strip():
        raise ZonalPriceError("line 1: empty file", details=[{"line": 1, "reason": "empty"}])
    first = lines[0]
    delimiter = ";" if ";" in first else ("\t" if "\t" in first else ",")
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))
    date_col, hour_col, zones = _columns(rows[0])
    width = max(date_col, hour_col, *(i for i, _ in zones)) + 1
    errors: list[dict[str, object]] = []
    index: list[pd.Timestamp] = []
    values: list[list[float]] = []
    seen: dict[pd.Timestamp, int] = {}
    for line_no, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            if len(row) < width:
                raise ValueError(f"{len(row)} fields, expected {width}")
            day = _day(row[date_col])
            hour = int(row[hour_col].strip())
            n = hours_in_market_day(day)
            if not 1 <= hour <= n:
                raise ValueError(f"hour {hour} outside 1..{n} for {day}")
            start = hour_start_utc(day, hour)
            if start in seen:
                raise ValueError(f"{day} hour {hour} repeats line {seen[start]}")
            prices = [_number(row[i]) for i, _ in zones]
        except ValueError as exc:
            errors.append({"line": line_no, "reason": str(exc)})
            if len(errors) >= MAX_ERRORS:
                break
            continue
        seen[start] = line_no
        index.append(start)
        values.append(prices)
    if errors:
        shown = "; ".join(f"line {e['line']}: {e['reason']}" for e in errors[:5])
        more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
        raise ZonalPriceError(f"zonal prices CSV has bad rows: {shown}{more}", details=errors)
    table = pd.DataFrame(
        np.array(values, dtype="float64").reshape(len(values), len(zones)),
        index=pd.DatetimeIndex(index, name="hour_utc"),
        columns=[name for _, name in zones],
    )
    return table.sort_index()
