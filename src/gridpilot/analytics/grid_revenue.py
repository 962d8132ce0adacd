"""Grid revenue: what a site's exported energy earns under its versioned tariffs (pure).

Per interval ``i`` of a regular UTC grid: ``revenue_i = E_export,i [kWh] x p_i [currency/kWh]``,
``p_i`` the export price of the tariff version valid at the interval's start, read at the site's
local time: the first of the version's ``export_periods`` that matches the interval (days,
clock times, holidays as for import periods), else its flat ``export_rate_per_kwh``. Energy
per price is summed first and turned into a ``Decimal`` at 1 Wh (3 decimals of a kWh); the
amount is ``sum(E_p x p)`` rounded once, half up to the cent (``analytics.community.money``).

Energy no price applies to (before the first version, or a version with no export price) is
counted but earns nothing: ``unpriced_kwh`` and a note say so, and a site with no export price
at all earns ``0.00`` with the note "no export price", never an unknown figure. NaN intervals
(no data) lower ``coverage``.

Worked example: 10 kWh exported at 0.08 EUR/kWh and 5 kWh at 0.12 EUR/kWh earn
0.80 + 0.60 = 1.40 EUR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd

from gridpilot.analytics.community.money import ZERO, as_decimal, to_cents
from gridpilot.analytics.tariffs import Tariff, rates_per_kwh
from gridpilot.core.errors import ValidationFailed

#: Energy is priced in Wh steps: kWh with this many decimals.
KWH_STEP = Decimal("0.001")
#: The note of a site whose tariffs name no export price.
NO_EXPORT_PRICE = "no export price in the tariff: exported energy earns 0"


@dataclass(frozen=True)
class RateLine:
    """Energy exported at one price: ``valid_from_ms`` of its version, price name, kWh, amount."""

    valid_from_ms: int
    name: str
    rate_per_kwh: Decimal
    energy_kwh: Decimal
    amount: Decimal


@dataclass(frozen=True)
class GridRevenue:
    """Revenue [currency, Decimal at the cent] of exported energy, with what it rests on."""

    amount: Decimal
    currency: str
    export_kwh: Decimal
    priced_kwh: Decimal
    unpriced_kwh: Decimal
    coverage: float
    lines: list[RateLine] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def priced(self) -> bool:
        """True when some export price applies to the period (even to 0 kWh)."""
        return NO_EXPORT_PRICE not in self.notes


def _kwh(value: float) -> Decimal:
    return Decimal(repr(float(value))).quantize(KWH_STEP, rounding=ROUND_HALF_UP)


def _export_prices(
    index: pd.DatetimeIndex, tariff: Tariff, timezone: str
) -> tuple[list[Decimal | None], np.ndarray]:
    """Each interval's export price (None: none agreed) and price name."""
    flat = tariff.export_rate_per_kwh
    if not tariff.export_periods:
        return [flat] * len(index), np.full(len(index), "export", dtype=object)
    # match on position, so periods sharing a name keep their own rates
    keyed = tuple(replace(p, name=str(i)) for i, p in enumerate(tariff.export_periods))
    matcher = Tariff(
        periods=keyed,
        default_rate_per_kwh=0.0,
        country=tariff.country,
        subdivision=tariff.subdivision,
    )
    _, keys = rates_per_kwh(index, matcher, timezone)
    prices: list[Decimal | None] = []
    names = np.full(len(index), "export", dtype=object)
    for i, key in enumerate(keys):
        if key == "default":
            prices.append(flat)
        else:
            period = tariff.export_periods[int(key)]
            prices.append(as_decimal(period.rate_per_kwh))
            names[i] = period.name
    return prices, names


def export_rates_per_kwh(index: pd.DatetimeIndex, tariff: Tariff, timezone: str) -> np.ndarray:
    """Each interval's export price [currency/kWh] as a float (what an optimiser needs), read
    as ``grid_revenue`` reads it; 0.0 where the tariff agrees no export price."""
    prices, _ = _export_prices(index, tariff, timezone)
    return np.asarray([0.0 if p is None else float(p) for p in prices], dtype=np.float64)


def grid_revenue(
    export_kwh: pd.Series, *, versions: Sequence[tuple[int, Tariff]], timezone: str
) -> GridRevenue:
    """Revenue of ``export_kwh`` (energy exported per interval [kWh] on a regular UTC grid,
    index = interval starts, NaN = no data) under ``versions`` ((valid_from_ms, Tariff), oldest
    first) in the site's IANA ``timezone``; see the module docstring."""
    index = pd.DatetimeIndex(export_kwh.index)
    values = export_kwh.to_numpy(dtype="float64")
    known = ~np.isnan(values)
    currencies = sorted({t.currency for _, t in versions}) or ["EUR"]
    if len(currencies) > 1:
        raise ValidationFailed(f"tariff versions mix currencies: {', '.join(currencies)}")
    starts = np.asarray([v for v, _ in versions], dtype="int64")
    stamps = np.asarray(index.as_unit("ms").asi8)
    which = np.searchsorted(starts, stamps, side="right") - 1
    sums: dict[tuple[int, str, Decimal], float] = {}
    unpriced = 0.0
    for position in sorted(set(which.tolist())):
        mask = (which == position) & known
        if not mask.any():
            continue
        if position < 0:
            unpriced += float(values[mask].sum())
            continue
        valid_from, tariff = versions[position]
        prices, names = _export_prices(index[mask], tariff, timezone)
        for energy, price, name in zip(values[mask], prices, names, strict=True):
            if price is None:
                unpriced += float(energy)
            else:
                key = (int(valid_from), str(name), price)
                sums[key] = sums.get(key, 0.0) + float(energy)
    lines = [
        RateLine(valid_from, name, price, _kwh(kwh), _kwh(kwh) * price)
        for (valid_from, name, price), kwh in sorted(sums.items(), key=lambda x: x[0][:2])
    ]
    priced = sum((line.energy_kwh for line in lines), ZERO)
    agreed = any(t.export_rate_per_kwh is not None or t.export_periods for _, t in versions)
    notes = _notes(lines, unpriced, agreed)
    return GridRevenue(
        amount=to_cents(sum((line.amount for line in lines), ZERO)),
        currency=currencies[0],
        export_kwh=_kwh(float(values[known].sum())) if known.any() else ZERO,
        priced_kwh=priced,
        unpriced_kwh=_kwh(unpriced),
        coverage=float(known.mean()) if len(values) else 0.0,
        lines=lines,
        notes=notes,
    )


def _notes(lines: list[RateLine], unpriced_kwh: float, agreed: bool) -> list[str]:
    if not agreed:
        return [NO_EXPORT_PRICE]
    if unpriced_kwh > 0:
        return [f"{unpriced_kwh:.3f} kWh exported when no export price applied: counted as 0"]
    return []


def total_revenue(parts: Sequence[GridRevenue]) -> GridRevenue | None:
    """The sum of several sites' revenues (amounts are cents already, so the sum is exact);
    None when they are in different currencies (no exchange rate here)."""
    currencies = {p.currency for p in parts if p.priced}
    if len(currencies) > 1:
        return None
    kwh = [p.export_kwh for p in parts]
    return GridRevenue(
        amount=sum((p.amount for p in parts), ZERO),
        currency=currencies.pop() if currencies else "EUR",
        export_kwh=sum(kwh, ZERO),
        priced_kwh=sum((p.priced_kwh for p in parts), ZERO),
        unpriced_kwh=sum((p.unpriced_kwh for p in parts), ZERO),
        coverage=sum(p.coverage for p in parts) / len(parts) if parts else 0.0,
        notes=_total_notes(parts),
    )


def _total_notes(parts: Sequence[GridRevenue]) -> list[str]:
    unpriced = sum(1 for p in parts if not p.priced)
    if parts and unpriced == len(parts):
        return [NO_EXPORT_PRICE]
    if unpriced:
        return [f"{unpriced} of {len(parts)} sites have no export price: they count 0"]
    return []
