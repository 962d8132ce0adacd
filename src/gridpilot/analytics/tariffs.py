"""Time-of-use tariffs: the JSON definition and the rate of each interval (pure functions).

A tariff (JSON, see ``docs/kpis.md``) prices each interval's energy by the *site's local time* at
the interval start: the first period whose days and clock times match gives the rate
[currency/kWh], else ``default_rate_per_kwh``. Days are ``mon``..``sun``; ``weekday`` = mon-fri,
``weekend`` = sat+sun, ``all``. A public holiday (``holidays`` package, the tariff's ``country``)
is priced as a Sunday, unless some period lists ``holiday``: then only those periods match it.
A tariff also holds a demand charge [currency/kW per month] and fixed charges per day and month
(what a period costs with them: ``analytics.tariff_cost``). ``export_rate_per_kwh`` (optional,
a Decimal) is what exported energy earns [currency/kWh]; ``export_periods`` (optional, like
``periods``) make it time-of-use, ``export_rate_per_kwh`` then pricing the intervals no export
period matches. Neither enters the cost (a site's consumption): the grid revenue prices them
(``analytics.grid_revenue``).

References: IEC 62056 / utility TOU practice; Italian ARERA F1/F2/F3 bands as the worked example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from gridpilot.core.errors import ValidationFailed

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HOLIDAY = "holiday"
DAY_GROUPS = {
    "weekday": frozenset(DAY_NAMES[:5]),
    "weekend": frozenset(DAY_NAMES[5:]),
    "all": frozenset(DAY_NAMES) | {HOLIDAY},
}
_CLOCK = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")
_KEYS = {
    "currency",
    "country",
    "subdivision",
    "periods",
    "default_rate_per_kwh",
    "demand_charge_per_kw_month",
    "fixed_charge_per_day",
    "fixed_charge_per_month",
    "export_rate_per_kwh",
    "export_periods",
    "name",
}
_PERIOD_KEYS = {"name", "rate_per_kwh", "days", "start", "end"}


@dataclass(frozen=True)
class TouPeriod:
    """A rate [currency/kWh] on some local days between ``start_min`` and ``end_min``.

    Minutes after local midnight; ``end_min`` < ``start_min`` wraps past midnight; equal: all day.
    """

    name: str
    rate_per_kwh: float
    days: frozenset[str]
    start_min: int
    end_min: int


@dataclass(frozen=True)
class Tariff:
    """A validated tariff (money in ``currency``; see the module docstring)."""

    currency: str = "EUR"
    periods: tuple[TouPeriod, ...] = ()
    default_rate_per_kwh: float | None = None
    demand_charge_per_kw_month: float = 0.0
    fixed_charge_per_day: float = 0.0
    fixed_charge_per_month: float = 0.0
    country: str | None = None
    subdivision: str | None = None
    export_rate_per_kwh: Decimal | None = None  # what exported energy earns; None: not agreed
    export_periods: tuple[TouPeriod, ...] = ()  # time-of-use export rates [currency/kWh]

    @property
    def names_holidays(self) -> bool:
        return any(HOLIDAY in p.days and p.days != DAY_GROUPS["all"] for p in self.periods)


def _number(value: Any, what: str, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(f"tariff {what} must be a number")
    number = float(value)
    if not np.isfinite(number) or number < minimum or number > 1e9:
        raise ValidationFailed(f"tariff {what} must be a finite number >= {minimum:g}")
    return number


def _export_rate(value: Any) -> Decimal | None:
    """The export price [currency/kWh] as a Decimal (a JSON number or a decimal string)."""
    if value is None:
        return None
    what = "tariff export_rate_per_kwh"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationFailed(f"{what} must be a number (currency per kWh) or null")
    try:
        rate = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValidationFailed(f"{what} must be a number (currency per kWh) or null") from exc
    if not rate.is_finite() or abs(rate) > 1000:
        raise ValidationFailed(f"{what} must be a finite number between -1000 and 1000")
    return rate


def _clock_min(value: Any, what: str) -> int:
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise ValidationFailed(f"tariff {what} must be local clock time 'HH:MM' (00:00..24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _days(value: Any, what: str) -> frozenset[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValidationFailed(f"tariff {what} must be a day name or a non-empty list of them")
    days: set[str] = set()
    for item in items:
        key = str(item).strip().lower()
        if key in DAY_GROUPS:
            days |= DAY_GROUPS[key]
        elif key in DAY_NAMES or key == HOLIDAY:
            days.add(key)
        else:
            raise ValidationFailed(
                f"tariff {what}: unknown day {item!r}; use mon..sun, holiday, weekday, weekend, all"
            )
    return frozenset(days)


def _periods(raw_periods: Any, key: str) -> tuple[TouPeriod, ...]:
    """The time-of-use periods of ``key`` (``periods`` or ``export_periods``)."""
    if not isinstance(raw_periods, list) or len(raw_periods) > 100:
        raise ValidationFailed(f"tariff {key} must be a list of at most 100 periods")
    periods = []
    for i, raw in enumerate(raw_periods):
        what = f"{key}[{i}]"
        if not isinstance(raw, Mapping) or set(raw) - _PERIOD_KEYS or "rate_per_kwh" not in raw:
            raise ValidationFailed(
                f"tariff {what} must be an object with rate_per_kwh and optional name, days, "
                "start, end"
            )
        name = raw.get("name", f"period{i + 1}")
        if not isinstance(name, str) or not 1 <= len(name) <= 50:
            raise ValidationFailed(f"tariff {what}.name must be a text of 1 to 50 characters")
        periods.append(
            TouPeriod(
                name=name,
                rate_per_kwh=_number(raw["rate_per_kwh"], f"{what}.rate_per_kwh", minimum=-1e9),
                days=_days(raw.get("days", "all"), f"{what}.days"),
                start_min=_clock_min(raw.get("start", "00:00"), f"{what}.start"),
                end_min=_clock_min(raw.get("end", "24:00"), f"{what}.end"),
            )
        )
    return tuple(periods)


def parse_tariff(definition: Mapping[str, Any]) -> Tariff:
    """A ``Tariff`` from its JSON definition; ``ValidationFailed`` says what is wrong."""
    if not isinstance(definition, Mapping):
        raise ValidationFailed("a tariff must be a JSON object")
    unknown = set(definition) - _KEYS
    if unknown:
        raise ValidationFailed(f"unknown tariff fields: {', '.join(sorted(map(str, unknown)))}")
    periods = _periods(definition.get("periods", []), "periods")
    default = definition.get("default_rate_per_kwh")
    if default is None and not periods:
        raise ValidationFailed("a tariff needs periods or a default_rate_per_kwh")
    currency = definition.get("currency", "EUR")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Za-z]{3}", currency):
        raise ValidationFailed("tariff currency must be a 3-letter code such as EUR")
    country, subdivision = definition.get("country"), definition.get("subdivision")
    for value, what in ((country, "country"), (subdivision, "subdivision")):
        if value is not None and (not isinstance(value, str) or not 1 <= len(value) <= 10):
            raise ValidationFailed(f"tariff {what} must be a short code such as 'IT'")
    tariff = Tariff(
        currency=currency.upper(),
        periods=tuple(periods),
        default_rate_per_kwh=None
        if default is None
        else _number(default, "default_rate_per_kwh", minimum=-1e9),
        demand_charge_per_kw_month=_number(
            definition.get("demand_charge_per_kw_month", 0.0), "demand_charge_per_kw_month"
        ),
        fixed_charge_per_day=_number(
            definition.get("fixed_charge_per_day", 0.0), "fixed_charge_per_day"
        ),
        fixed_charge_per_month=_number(
            definition.get("fixed_charge_per_month", 0.0), "fixed_charge_per_month"
        ),
        country=country.upper() if country else None,
        subdivision=subdivision,
        export_rate_per_kwh=_export_rate(definition.get("export_rate_per_kwh")),
        export_periods=_periods(definition.get("export_periods", []), "export_periods"),
    )
    if tariff.country:
        holiday_dates(tariff.country, tariff.subdivision, 2026)  # unknown country: 422 now
    return tariff


@lru_cache(maxsize=256)
def holiday_dates(country: str | None, subdivision: str | None, year: int) -> frozenset[date]:
    """Public holidays of ``country`` (ISO 3166 alpha-2) in ``year`` (``holidays`` package)."""
    if not country:
        return frozenset()
    import holidays

    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=year)
    except NotImplementedError as exc:
        raise ValidationFailed(f"no public-holiday calendar for country {country!r}") from exc
    return frozenset(found.keys())


def local_index(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
    """``index`` in the IANA zone ``timezone``; ``ValidationFailed`` for an unknown zone."""
    try:
        return index.tz_convert(timezone)
    except Exception as exc:  # unknown zone names raise several exception types
        raise ValidationFailed(f"unknown time zone {timezone!r}") from exc


def rates_per_kwh(
    index: pd.DatetimeIndex, tariff: Tariff, timezone: str
) -> tuple[np.ndarray, np.ndarray]:
    """Rate [currency/kWh] and period name for intervals starting at ``index`` (UTC).

    Raises ``ValidationFailed`` when an interval matches no period and there is no default rate.
    """
    local = local_index(index, timezone)
    minute = np.asarray(local.hour * 60 + local.minute)
    weekday = np.asarray(local.day_of_week)
    dates = np.asarray(local.date)
    holiday = np.zeros(len(index), dtype=bool)
    for year in sorted(set(local.year)):
        days = holiday_dates(tariff.country, tariff.subdivision, int(year))
        if days:
            holiday |= np.fromiter((d in days for d in dates), dtype=bool, count=len(dates))
    explicit = tariff.names_holidays
    rates = np.full(len(index), np.nan)
    names = np.full(len(index), "", dtype=object)
    done = np.zeros(len(index), dtype=bool)
    for period in tariff.periods:
        on_day = np.isin(weekday, [DAY_NAMES.index(d) for d in period.days if d != HOLIDAY])
        if explicit:
            on_day = np.where(holiday, HOLIDAY in period.days, on_day)
        else:
            on_day = np.where(holiday, "sun" in period.days, on_day)
        lo, hi = period.start_min, period.end_min
        if lo < hi:
            in_time = (minute >= lo) & (minute < hi)
        elif lo > hi:
            in_time = (minute >= lo) | (minute < hi)
        else:
            in_time = np.ones(len(index), dtype=bool)
        hit = on_day & in_time & ~done
        rates[hit], names[hit] = period.rate_per_kwh, period.name
        done |= hit
    if not done.all():
        if tariff.default_rate_per_kwh is None:
            first = local[int(np.argmin(done))]
            raise ValidationFailed(
                f"the tariff has no rate for {first:%a %Y-%m-%d %H:%M} local time "
                "and no default_rate_per_kwh"
            )
        rates[~done], names[~done] = tariff.default_rate_per_kwh, "default"
    return rates, names
