"""What the tariffs page shows of a site's tariff: its versions in order (the site's own
``sites.tariff`` before the first version, as ``insights.kpis.tariffs.pricing_versions`` prices
them), which one applies now, and each figure in words with its unit and currency.

Money is rounded half up from Decimal: prices per kWh to 4 decimals (at least 3 shown), charges
to 2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from gridpilot.insights.kpis.models import TariffVersion

DAY_WORDS = {
    "weekday": "Mon-Fri",
    "weekend": "Sat-Sun",
    "all": "every day",
    "holiday": "holidays",
}


@dataclass(frozen=True)
class Shown:
    """A tariff as priced from ``valid_from_ms`` (0: always) until ``valid_to_ms`` (None: on)."""

    valid_from_ms: int
    valid_to_ms: int | None
    definition: Mapping[str, Any]
    created_by: str | None  # None: the site's own tariff (sites.tariff)

    def state(self, now: int) -> str:
        """``applies now``, ``closed`` or ``upcoming``."""
        if self.valid_from_ms > now:
            return "upcoming"
        if self.valid_to_ms is not None and self.valid_to_ms <= now:
            return "closed"
        return "applies now"


def history(site_tariff: Mapping[str, Any] | None, rows: Sequence[TariffVersion]) -> list[Shown]:
    """The site's tariffs oldest first, each valid until the next one's start."""
    starts: list[tuple[int, Mapping[str, Any], str | None]] = [
        (row.valid_from_ms, row.definition, row.created_by) for row in rows
    ]
    if site_tariff and (not rows or rows[0].valid_from_ms > 0):
        starts.insert(0, (0, site_tariff, None))
    ends: list[int | None] = [start for start, _, _ in starts[1:]]
    if not starts:
        return []
    return [
        Shown(start, end, definition, by)
        for (start, definition, by), end in zip(starts, [*ends, None], strict=True)
    ]


def current(shown: Sequence[Shown], now: int) -> Shown | None:
    return next((s for s in shown if s.state(now) == "applies now"), None)


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def price(value: Any, currency: str) -> str:
    """``0.238 EUR/kWh`` (4 decimals, trailing zeros dropped down to 3)."""
    number = _decimal(value)
    if number is None:
        return "not set"
    text = f"{number.quantize(Decimal('0.0001'), ROUND_HALF_UP):,.4f}"
    if text.endswith("0"):
        text = text[:-1]
    return f"{text} {currency}/kWh"


def charge(value: Any, currency: str, per: str) -> str:
    """``3.20 EUR/kW``, ``60.00 EUR/month``; ``none`` for no charge."""
    number = _decimal(value) or Decimal(0)
    if not number:
        return "none"
    return f"{number.quantize(Decimal('0.01'), ROUND_HALF_UP):,.2f} {currency}{per}"


def days_text(days: Any) -> str:
    """``Mon-Fri``, ``Sat``, ``Mon-Fri, holidays``."""
    items = [days] if isinstance(days, str) else list(days or ["all"])
    return ", ".join(DAY_WORDS.get(str(d).lower(), str(d).capitalize()) for d in items)


def hours_text(period: Mapping[str, Any]) -> str:
    start, end = period.get("start", "00:00"), period.get("end", "24:00")
    return "all day" if start == end or (start, end) == ("00:00", "24:00") else f"{start}-{end}"


def period_lines(definition: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """``(name, when, price)`` of each time-of-use band, then the default rate."""
    currency = str(definition.get("currency", "EUR")).upper()
    lines = [
        (
            str(p.get("name", f"period{i + 1}")),
            f"{days_text(p.get('days', 'all'))}, {hours_text(p)}",
            price(p.get("rate_per_kwh"), currency),
        )
        for i, p in enumerate(definition.get("periods") or [])
    ]
    if definition.get("default_rate_per_kwh") is not None:
        lines.append(
            ("Otherwise", "any other time", price(definition["default_rate_per_kwh"], currency))
        )
    return lines


def charge_lines(definition: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The demand charge, fixed charges and export price, in words with units."""
    currency = str(definition.get("currency", "EUR")).upper()
    lines = [
        (
            "Demand charge on each month's peak",
            charge(definition.get("demand_charge_per_kw_month"), currency, "/kW"),
        ),
        ("Fixed charge", charge(definition.get("fixed_charge_per_month"), currency, "/month")),
    ]
    if definition.get("fixed_charge_per_day"):
        lines.append(
            ("Daily charge", charge(definition.get("fixed_charge_per_day"), currency, "/day"))
        )
    lines.append(("Export earns", price(definition.get("export_rate_per_kwh"), currency)))
    return lines
