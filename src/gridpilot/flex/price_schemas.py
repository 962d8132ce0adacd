"""Bodies of a site's dynamic prices (``prices.py``): intervals of a market or dynamic tariff,
import and export in EUR/kWh (negative allowed: markets go below zero). Times ISO-8601."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Annotated, Literal, Self

from pydantic import AwareDatetime, Field, field_validator, model_validator

from gridpilot.core.bodies import Strict
from gridpilot.flex.schemas import StrictBody

#: Intervals in one request, at most (ten days of quarter hours).
MAX_PRICES = 1000
SignedEurPerKwh = Annotated[float, Field(ge=-100, le=100, description="EUR/kWh")]


class PriceIn(StrictBody):
    """One interval's prices: from ``start`` for ``duration_min`` minutes."""

    start: AwareDatetime = Field(strict=False, examples=["2026-12-06T00:00:00+01:00"])
    duration_min: int = Field(default=60, ge=5, le=1440, description="minutes (5..1440)")
    import_eur_per_kwh: SignedEurPerKwh
    export_eur_per_kwh: SignedEurPerKwh | None = Field(
        default=None, description="EUR/kWh; null: the tariff's export price applies"
    )

    @field_validator("start", mode="before")
    @classmethod
    def _written_out(cls, value: object) -> object:
        """A time written out (ISO-8601 with its offset), not a number taken as seconds."""
        if not isinstance(value, str):
            raise ValueError("start must be an ISO-8601 date-time with its offset, as a string")
        return value


class PricesPut(StrictBody):
    """Prices to store; they replace the site's prices over ``[first start, last end)``."""

    currency: Literal["EUR"] = "EUR"
    prices: list[PriceIn] = Field(min_length=1, max_length=MAX_PRICES)

    @model_validator(mode="after")
    def _ordered_without_overlap(self) -> Self:
        ordered = sorted(self.prices, key=lambda p: p.start)
        for i, (a, b) in enumerate(pairwise(ordered)):
            end = a.start.timestamp() + a.duration_min * 60
            if b.start.timestamp() < end:
                raise ValueError(
                    f"prices overlap: the interval from {a.start.isoformat()} lasts until "
                    f"after the next one starts ({b.start.isoformat()}, interval {i + 2})"
                )
        self.prices = ordered
        return self


class PriceOut(Strict):
    start: datetime
    end: datetime
    import_eur_per_kwh: float
    export_eur_per_kwh: float | None


class PricesOut(Strict):
    site_id: int
    currency: Literal["EUR"] = "EUR"
    prices: list[PriceOut]
