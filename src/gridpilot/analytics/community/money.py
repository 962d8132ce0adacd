"""Money as ``Decimal``: one rounding rule, written once.

Amounts are rounded to the cent with ``ROUND_HALF_UP`` (0.005 -> 0.01, -0.005 -> -0.01), the
rule of Italian invoices and of GSE statements. Rates and energies stay unrounded until an
amount is formed.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")


def to_cents(amount: Decimal | float | int | str) -> Decimal:
    """``amount`` in EUR rounded half up to the cent. A float goes through ``repr`` (its
    shortest round-tripping decimal), so ``0.125`` becomes 0.13, never 0.12."""
    value = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    if not value.is_finite():
        raise ValueError(f"not a finite amount: {amount!r}")
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def as_decimal(value: Decimal | float | int | str) -> Decimal:
    """An exact ``Decimal`` of a parameter or a rate (floats through ``repr``)."""
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
