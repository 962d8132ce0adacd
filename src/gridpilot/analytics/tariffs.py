"""Time-of-use tariffs: the JSON definition and the cost of interval energies (pure functions).

A tariff (JSON, see ``docs/kpis.md``) prices each interval's energy by the *site's local time* at
the interval start: the first period whose days and clock times match gives the rate
[currency/kWh], else ``default_rate_per_kwh``. Days are ``mon``..``sun``; ``weekday`` = mon-fri,
``weekend`` = sat+sun, ``all``. A public holiday (``holidays`` package, the tariff's ``country``)
is priced as a Sunday, unless some period lists ``holiday``: then only those periods match it.
On top: a demand charge [currency/kW] per local calendar month on that month's billing peak
(max demand-interval average power), and fixed charges per local day and per local month; both
are prorated by the share of the day/month the period covers. ``export_rate_per_kwh`` (optional,
a Decimal) is what exported energy earns [currency/kWh]; ``export_periods`` (optional, like
``periods``) make it time-of-use, ``export_rate_per_kwh`` then pricing the intervals no export
period matches. Neither enters ``cost`` (a site's consumption): the grid revenue prices them
(``analytics.grid_revenue``).

Tariffs are versioned: ``versions`` are ``(valid_from_ms, Tariff)`` and every interval is priced
with the version valid at its start, so a new version never changes past costs.

References: IEC 62056 / utility TOU practice; Italian ARERA F1/F2/F3 bands as the worked example.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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


def _local(index: pd.DatetimeIndex, timezone: str) -> pd.DatetimeIndex:
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
    local = _local(index, timezone)
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


@dataclass(frozen=True)
class CostBreakdown:
    """Cost of a period [currency]: energy + demand + fixed, with the details behind it."""

    currency: str
    energy_cost: float
    demand_cost: float
    fixed_cost: float
    energy_kwh: float
    coverage: float
    by_period: dict[str, dict[str, float]] = field(default_factory=dict)
    billing_peaks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def total(self) -> float:
        return self.energy_cost + self.demand_cost + self.fixed_cost


def _version_of(index: pd.DatetimeIndex, starts_ms: Sequence[int]) -> np.ndarray:
    stamps = _to_ms(index)
    return np.searchsorted(np.asarray(starts_ms, dtype="int64"), stamps, side="right") - 1


def _to_ms(index: pd.DatetimeIndex) -> np.ndarray:
    return np.asarray(index.as_unit("ms").asi8)


def _period_lengths_ms(local: pd.DatetimeIndex, freq: str) -> tuple[np.ndarray, list[str]]:
    """Length [ms] of the local day or month holding each timestamp, and its label."""
    naive = local.tz_localize(None)
    starts = naive.normalize() if freq == "D" else naive.to_period("M").to_timestamp()
    ends = starts + (pd.DateOffset(days=1) if freq == "D" else pd.DateOffset(months=1))
    tz = local.tz
    flags = np.zeros(len(starts), dtype=bool)
    lo = starts.tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    hi = pd.DatetimeIndex(ends).tz_localize(tz, ambiguous=flags, nonexistent="shift_forward")
    labels = [s.strftime("%Y-%m-%d" if freq == "D" else "%Y-%m") for s in starts]
    return _to_ms(hi) - _to_ms(lo), labels


def cost(
    energy_kwh: pd.Series,
    *,
    interval_ms: int,
    versions: Sequence[tuple[int, Tariff]],
    timezone: str,
    demand_kw: pd.Series | None = None,
) -> CostBreakdown:
    """Cost of interval energies under versioned time-of-use tariffs.

    Parameters
    ----------
    energy_kwh : pandas.Series
        Energy per interval [kWh] on a regular UTC grid of ``interval_ms`` (index = interval
        starts); NaN = no data (priced as nothing, lowers ``coverage``).
    interval_ms : int
        Interval length [ms]; fixed charges accrue per interval whether or not it has data.
    versions : sequence of (valid_from_ms, Tariff)
        Sorted by ``valid_from_ms``; intervals before the first are not priced (they lower
        ``coverage``, which counts intervals with both data and a tariff).
    timezone : str
        IANA zone of the site: periods, days, holidays and billing months are local.
    demand_kw : pandas.Series, optional
        Average power per demand interval [kW] on the same index, for the demand charge
        (billing peak = its max per local month and tariff version).

    Returns
    -------
    CostBreakdown
        ``energy_cost`` = sum(E_i x rate_i); ``demand_cost`` = sum over (month, version) of
        charge x billing peak x (covered time / month length); ``fixed_cost`` = sum over intervals
        of per_day x interval/day length + per_month x interval/month length.
    """
    if len(energy_kwh) == 0 or not versions:
        raise ValidationFailed("no intervals to price or no tariff to price them with")
    currencies = {t.currency for _, t in versions}
    if len(currencies) != 1:
        raise ValidationFailed(f"tariff versions mix currencies: {', '.join(sorted(currencies))}")
    index = pd.DatetimeIndex(energy_kwh.index)
    local = _local(index, timezone)
    which = _version_of(index, [v for v, _ in versions])
    values = energy_kwh.to_numpy(dtype="float64")
    present = ~np.isnan(values) & (which >= 0)
    rates = np.zeros(len(index))
    names = np.full(len(index), "", dtype=object)
    for position, (_, tariff) in enumerate(versions):
        mask = which == position
        if mask.any():
            rates[mask], names[mask] = rates_per_kwh(index[mask], tariff, timezone)
    priced = np.where(present, values, 0.0) * rates
    by_period: dict[str, dict[str, float]] = {}
    for name in sorted(set(names[present])):
        mask = present & (names == name)
        by_period[str(name)] = {
            "energy_kwh": float(values[mask].sum()),
            "cost": float(priced[mask].sum()),
        }
    day_ms, _ = _period_lengths_ms(local, "D")
    month_ms, months = _period_lengths_ms(local, "M")
    per_day = np.array([versions[w][1].fixed_charge_per_day if w >= 0 else 0.0 for w in which])
    per_month = np.array([versions[w][1].fixed_charge_per_month if w >= 0 else 0.0 for w in which])
    fixed = float((per_day * interval_ms / day_ms + per_month * interval_ms / month_ms).sum())
    demand_cost, peaks = 0.0, []
    demand = None if demand_kw is None else demand_kw.reindex(index).to_numpy(dtype="float64")
    for month, position in sorted({(m, int(w)) for m, w in zip(months, which, strict=True)}):
        if position < 0:
            continue
        tariff = versions[position][1]
        mask = (np.asarray(months) == month) & (which == position)
        if demand is None or tariff.demand_charge_per_kw_month == 0.0:
            continue
        chunk = demand[mask]
        if np.isnan(chunk).all():
            continue
        peak = float(np.nanmax(chunk))
        share = float(mask.sum() * interval_ms / month_ms[mask][0])
        charge = tariff.demand_charge_per_kw_month * peak * share
        demand_cost += charge
        peaks.append(
            {
                "month": month,
                "valid_from_ms": versions[position][0],
                "peak_kw": peak,
                "share_of_month": share,
                "charge": charge,
            }
        )
    return CostBreakdown(
        currency=currencies.pop(),
        energy_cost=float(priced.sum()),
        demand_cost=demand_cost,
        fixed_cost=fixed,
        energy_kwh=float(values[present].sum()),
        coverage=float(present.mean()),
        by_period=by_period,
        billing_peaks=peaks,
    )
