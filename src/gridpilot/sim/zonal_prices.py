"""Simulated GME hourly zonal prices as the GME CSV (``Data;Ora;<zone>;PUN``, decimal comma).

Deterministic (seeded noise, no network): a day shape with cheap solar middays and dear
evenings, dearer on weekdays, around 110 EUR/MWh, so that the TIP's ``max(0; 180 - Pz)`` term
varies hour by hour as it does with real prices. Hours run 1..N of each Europe/Rome day (23 or
25 on the clock-change days), as in GME's files; the community importer reads them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from gridpilot.sim import noise

ROME = ZoneInfo("Europe/Rome")


def hours_of(day: date) -> int:
    """Hours of ``day`` in Europe/Rome (23, 24 or 25)."""
    start = datetime(day.year, day.month, day.day, tzinfo=ROME)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=ROME)
    # aware datetimes of one zone subtract as wall clocks: compare their UTC instants
    return round((end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() / 3600)


def _price(day: date, hour: int, seed: int) -> float:
    """The zone's price [EUR/MWh] of ``hour`` (0-based from local midnight) of ``day``."""
    solar = np.exp(-(((hour - 13.0) / 2.5) ** 2))
    evening = np.exp(-(((hour - 20.0) / 1.8) ** 2))
    weekday = 1.0 if day.weekday() < 5 else 0.85
    key = day.toordinal() * 25 + hour
    jitter = float(noise.uniform(seed, "gme/price", [key])[0]) - 0.5
    return round(weekday * (115.0 - 45.0 * solar + 40.0 * evening) + 16.0 * jitter, 2)


def _comma(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


def gme_csv(first: date, last: date, *, zone: str = "SUD", seed: int = 42) -> str:
    """Prices of ``zone`` (and a PUN column) for the days ``first``..``last`` as GME CSV."""
    if last < first:
        raise ValueError("last day before first day")
    lines = [f"Data;Ora;{zone};PUN"]
    day = first
    while day <= last:
        for k in range(1, hours_of(day) + 1):
            price = _price(day, k - 1, seed)
            lines.append(f"{day:%Y%m%d};{k};{_comma(price)};{_comma(price + 3.5)}")
        day += timedelta(days=1)
    return "\n".join(lines) + "\n"
