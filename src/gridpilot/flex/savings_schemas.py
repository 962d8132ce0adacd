"""Response of ``GET /api/v1/sites/{id}/flex-savings``: what the site's operation cost per local
day or month against no battery and the rule-based controller. Money: EUR as decimal strings
rounded half-even to the cent; each saving is the difference of the rounded figures, and the
total is the sum of the rounded periods, so every figure shown adds up."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Money = str  # EUR, a decimal string such as "12.34"


class SavingsPeriodOut(BaseModel):
    """One local day (``2026-12-04``) or month (``2026-12``) of the site."""

    period: str = Field(examples=["2026-12-04", "2026-12"])
    start: str = Field(description="Local midnight starting the period (ISO-8601 UTC)")
    end: str = Field(description="End of the period, or now while it runs (ISO-8601 UTC)")
    optimised_eur: Money = Field(description="The measured operation, re-priced [EUR]")
    no_battery_eur: Money = Field(description="The same demand without the batteries [EUR]")
    rule_based_eur: Money = Field(description="The self-consumption controller on it [EUR]")
    saving_vs_no_battery_eur: Money
    saving_vs_rule_based_eur: Money
    intervals: int = Field(description="15-minute intervals of the period up to now")
    measured_intervals: int = Field(description="Of those, with grid import and export known")


class FlexSavingsOut(BaseModel):
    """Savings per period, their total, and what they were computed from."""

    site_id: int
    timezone: str
    period: Literal["day", "month"]
    method: Literal["re-priced actuals"] = "re-priced actuals"
    currency: Literal["EUR"] = "EUR"
    batteries: list[str] = Field(description="Battery resources the references model")
    periods: list[SavingsPeriodOut]
    total: SavingsPeriodOut
