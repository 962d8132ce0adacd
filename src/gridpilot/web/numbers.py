"""How the dashboard writes numbers: units always, thousands separators, a dash for unknown."""

from __future__ import annotations

import math
from datetime import datetime
from zoneinfo import ZoneInfo

from gridpilot.assets.catalogue import UNIT_SIGNS

#: What an unknown figure shows.
UNKNOWN = "\u2013"  # an en dash


def _known(value: float | None) -> bool:
    return value is not None and not math.isnan(value)


def number(value: float | None, unit: str, digits: int = 1) -> str:
    """``12,345.6 kW``; the dash for None or NaN."""
    if not _known(value):
        return UNKNOWN
    assert value is not None
    return f"{value:,.{digits}f} {unit}".strip()


def power(kw: float | None) -> str:
    """A power [kW]: one decimal below 1,000 kW, MW with two above 10,000 kW."""
    if _known(kw) and abs(kw or 0.0) >= 10_000:
        return number((kw or 0.0) / 1000, "MW", 2)
    return number(kw, "kW", 1 if not _known(kw) or abs(kw or 0.0) < 1000 else 0)


def energy(kwh: float | None) -> str:
    """An energy [kWh]: MWh with two decimals from 10,000 kWh on."""
    if _known(kwh) and abs(kwh or 0.0) >= 10_000:
        return number((kwh or 0.0) / 1000, "MWh", 2)
    return number(kwh, "kWh", 1 if not _known(kwh) or abs(kwh or 0.0) < 1000 else 0)


def measured(value: float | None, unit: str) -> str:
    """A reading in its catalogue ``unit``: kW and kWh scaled as ``power``/``energy``, other
    units with decimals by magnitude (``1,020 V``, ``49.98 Hz``, ``0.97``), never ``1.02e+03``."""
    if unit == "kW":
        return power(value)
    if unit == "kWh":
        return energy(value)
    if not _known(value):
        return UNKNOWN
    size = abs(value or 0.0)
    digits = 0 if size >= 1000 else 1 if size >= 100 else 2
    return number(value, UNIT_SIGNS.get(unit, unit), digits)


def spaced_percent(text: str) -> str:
    """``45%`` written as the dashboard writes every percentage: ``45 %``."""
    return text[:-1] + " %" if text.endswith("%") and not text.endswith(" %") else text


def share(value: float | None) -> str:
    """A share 0-1 as a percentage: whole, but with a decimal below 10 % so that a small share
    does not read as none (0.006: ``0.6 %``, not ``0 %``)."""
    if not _known(value):
        return UNKNOWN
    pct = (value or 0.0) * 100
    return f"{pct:,.1f} %" if 0 < abs(pct) < 9.95 else f"{pct:,.0f} %"


def local_clock(ms: int, timezone: str) -> str:
    """``14:05 CEST (Europe/Rome)``: the wall-clock time at ``ms`` in ``timezone``."""
    moment = datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone))
    short = moment.strftime("%Z")
    return moment.strftime("%H:%M ") + (short if short == timezone else f"{short} ({timezone})")


def zone_name(timezone: str, ms: int) -> str:
    """``CET (Europe/Rome)``: a zone's abbreviation at ``ms`` and its name (``UTC`` alone)."""
    short = datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone)).strftime("%Z")
    if not short or short.startswith(("+", "-")) or short == timezone:
        return timezone
    return f"{short} ({timezone})"


def local_datetime(ms: int, timezone: str) -> str:
    """``2026-12-04 14:05 CET``: the date and wall-clock time at ``ms`` in ``timezone`` (the
    site's zone; the zone's abbreviation, or its name where it has none)."""
    moment = datetime.fromtimestamp(ms / 1000, ZoneInfo(timezone))
    short = moment.strftime("%Z")
    zone = short if short and not short.startswith(("+", "-")) else timezone
    return moment.strftime("%Y-%m-%d %H:%M ") + zone


#: Currency signs written before the amount (others follow it as a code: ``12.30 CHF``).
CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£"}


def money(value: float | None, currency: str) -> str:
    """``€1,234.56`` (two decimals; a code after the amount for other currencies)."""
    if not _known(value):
        return UNKNOWN
    amount = f"{abs(value or 0.0):,.2f}"
    sign = "-" if (value or 0.0) < 0 else ""
    if currency in CURRENCY_SIGNS:
        return f"{sign}{CURRENCY_SIGNS[currency]}{amount}"
    return f"{sign}{amount} {currency}".strip()
