"""A site's dynamic prices under /api/v1 (``prices.py``): reading needs READ (viewers),
writing CONFIGURE (operators and up); another site answers 404. docs/flexibility.md."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Path, Query

from gridpilot.auth.dependencies import Configurer, Reader
from gridpilot.core.timestamps import MS_PER_DAY, now_ms, parse_period
from gridpilot.db.dependencies import SessionDep
from gridpilot.flex import prices
from gridpilot.flex.price_schemas import PricesOut, PricesPut

router = APIRouter(tags=["flexibility"])

SiteId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PRICES = "/sites/{site_id}/prices"
Start = Annotated[str | None, Query(description="ISO-8601 or epoch ms; default: 24 h before now")]
End = Annotated[str | None, Query(description="ISO-8601 or epoch ms; default: 48 h after now")]


def _window(start: str | None, end: str | None) -> tuple[int, int]:
    """``[start, end)`` [epoch ms], by default from a day ago to two days ahead."""
    if end is None:
        end = str(now_ms() + 2 * MS_PER_DAY)
    if start is None:
        start = str(now_ms() - MS_PER_DAY)
    return parse_period(start, end)


@router.put(
    PRICES,
    summary="Store a site's dynamic (market) prices",
    description=(
        "Intervals of import (and optionally export) EUR/kWh, negative allowed; they replace "
        "the site's stored intervals over the span from the first start to the last end. The "
        "planner prices each step by the interval holding its start, and by the tariff where "
        "none does. Overlapping intervals answer 422."
    ),
    responses={404: {"description": "No such site in your scope"}},
)
async def put_prices(
    site_id: SiteId,
    data: Annotated[PricesPut, Body()],
    principal: Configurer,
    session: SessionDep,
) -> PricesOut:
    return await prices.put_prices(session=session, site_id=site_id, principal=principal, data=data)


@router.get(
    PRICES,
    summary="A site's dynamic prices over a window",
    responses={404: {"description": "No such site in your scope"}},
)
async def get_prices(
    site_id: SiteId, principal: Reader, session: SessionDep, start: Start = None, end: End = None
) -> PricesOut:
    lo, hi = _window(start, end)
    return await prices.list_prices(
        session=session, site_id=site_id, principal=principal, start_ms=lo, end_ms=hi
    )


@router.delete(
    PRICES,
    summary="Delete a site's dynamic prices that start in a window",
    responses={404: {"description": "No such site in your scope"}},
)
async def delete_prices(
    site_id: SiteId,
    principal: Configurer,
    session: SessionDep,
    start: Start = None,
    end: End = None,
) -> dict[str, int]:
    lo, hi = _window(start, end)
    deleted = await prices.delete_prices(
        session=session, site_id=site_id, principal=principal, start_ms=lo, end_ms=hi
    )
    return {"deleted": deleted}
