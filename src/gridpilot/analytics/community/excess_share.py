"""The excess-share rule: the incentive on shared energy above 55 % of the injected energy
(45 % for a plant with a capital grant) goes only to members other than businesses, or to
social purposes on the territory (DM 414/2023, art. 3 and Allegato 1; GSE Regole operative).

The excess is computed per plant over the period given (the settlement passes a month):
``excess_kwh = shared_kwh - threshold x injected_kwh`` when positive, and its amount is the
plant's incentive in proportion, ``incentive x excess_kwh / shared_kwh`` (the plant's average
TIP over the period), rounded half up to the cent; the ordinary part is the rest, so the two
always sum to the incentive.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from gridpilot.analytics.community.money import ZERO, as_decimal, to_cents


@dataclass(frozen=True)
class ExcessSplit:
    shared_ratio: Decimal  # shared / injected, unrounded (0 with nothing injected)
    excess_kwh: Decimal
    excess_eur: Decimal  # to non-business members or social purposes only
    ordinary_eur: Decimal  # incentive - excess


def split_excess(
    incentive_eur: Decimal,
    *,
    shared_kwh: Decimal | float,
    injected_kwh: Decimal | float,
    threshold: Decimal,
) -> ExcessSplit:
    """Split one plant's incentive for a period into its ordinary and excess parts."""
    shared = as_decimal(shared_kwh)
    injected = as_decimal(injected_kwh)
    if shared < 0 or injected < 0 or shared > injected:
        raise ValueError(f"need 0 <= shared ({shared}) <= injected ({injected}) kWh")
    if injected == 0:
        return ExcessSplit(Decimal(0), Decimal(0), ZERO, incentive_eur)
    ratio = shared / injected
    excess_kwh = max(Decimal(0), shared - threshold * injected)
    excess_eur = to_cents(incentive_eur * excess_kwh / shared) if excess_kwh else ZERO
    return ExcessSplit(ratio, excess_kwh, excess_eur, incentive_eur - excess_eur)
