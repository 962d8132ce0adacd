"""GME hourly zonal prices in the database: imported from CSV text, read per zone and period."""

from __future__ import annotations

import csv

import numpy as np
import pandas as pd
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from gridpilot.analytics.community.zonal_prices import ZonalPriceError, parse_zonal_prices
from gridpilot.auth.permissions import Principal
from gridpilot.community.access import is_superuser
from gridpilot.community.models import ZonalPrice
from gridpilot.core.errors import PermissionDenied, ValidationFailed

MAX_ZONE_NAME = 8


class ZonalPricesRejected(ValidationFailed):
    """The CSV's rows are refused; ``details`` lists ``{"line": n, "reason": ...}``."""

    code = "zonal_prices_invalid"


async def import_prices(
    *, session: AsyncSession, principal: Principal, text: str
) -> tuple[list[str], pd.DatetimeIndex]:
    """Store the CSV's prices (gridpilot administrators), replacing the prices of its zones
    over the period it covers; 422 (code ``zonal_prices_invalid``) listing every bad line."""
    if not is_superuser(principal):
        raise PermissionDenied("only a gridpilot administrator imports zonal prices")
    try:
        table = parse_zonal_prices(text)
    except ZonalPriceError as exc:  # a well-formed body whose content is refused: 422
        raise ZonalPricesRejected(exc.message, details=exc.details) from None
    except csv.Error as exc:  # e.g. a NUL character
        raise ZonalPricesRejected(f"the CSV cannot be read: {exc}") from None
    if table.empty:
        raise ValidationFailed("the CSV has no price rows")
    long = [z for z in table.columns if len(str(z)) > MAX_ZONE_NAME]
    if long:
        raise ValidationFailed(f"zone names longer than {MAX_ZONE_NAME} characters: {long[:3]}")
    hours_ms = pd.DatetimeIndex(table.index).as_unit("ms").asi8.tolist()
    zones = [str(z) for z in table.columns]
    await session.execute(
        delete(ZonalPrice).where(
            ZonalPrice.zone.in_(zones),
            ZonalPrice.hour_ms >= hours_ms[0],
            ZonalPrice.hour_ms <= hours_ms[-1],
        )
    )
    rows = [
        {"zone": zone, "hour_ms": int(hour), "price_eur_per_mwh": float(price)}
        for zone in zones
        for hour, price in zip(hours_ms, table[zone].to_numpy(), strict=True)
        if np.isfinite(price)
    ]
    if rows:
        await session.execute(insert(ZonalPrice), rows)
    await session.flush()
    return zones, pd.DatetimeIndex(table.index)


async def zone_prices(session: AsyncSession, zone: str, start_ms: int, end_ms: int) -> pd.DataFrame:
    """Prices of ``zone`` on ``[start_ms, end_ms)``: one column named by the zone, rows by UTC
    hour start (hours without a price absent)."""
    rows = (
        await session.execute(
            select(ZonalPrice.hour_ms, ZonalPrice.price_eur_per_mwh).where(
                ZonalPrice.zone == zone,
                ZonalPrice.hour_ms >= start_ms,
                ZonalPrice.hour_ms < end_ms,
            )
        )
    ).all()
    index = pd.to_datetime([int(r[0]) for r in rows], unit="ms", utc=True)
    return pd.DataFrame({zone: [float(r[1]) for r in rows]}, index=index).sort_index()
